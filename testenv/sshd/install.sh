#!/usr/bin/env bash
# Installs Debian's `openssh-server` (and the client's ssh-keygen) once per machine, for the
# node-check tests (crates/detek-node/tests/ssh.rs). The package's own service is never
# started (a policy-rc.d denies it for the time of the install); start.sh runs private sshd
# instances instead.
#
#   testenv/sshd/install.sh          # no-op when already installed (< 0.1 s)
set -euo pipefail
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"

installed() { [[ -x /usr/sbin/sshd ]] && command -v ssh-keygen >/dev/null && command -v ip >/dev/null; }
installed && exit 0

CACHE="${DETEK_TESTENV_CACHE:-$HOME/.cache/detek-testenv}/sshd"
mkdir -p "$CACHE"
exec 9>"$CACHE/install.lock"
flock 9
installed && exit 0

testenv_apt_install testenv/sshd openssh-server openssh-client iproute2
