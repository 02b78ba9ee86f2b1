#!/usr/bin/env bash
# Installs Debian's `postgresql` package once per machine (the hub's storage tests run the
# same tests on SQLite and on this real PostgreSQL). The package's own service is never
# started (a policy-rc.d denies it for the time of the install); start.sh runs a private
# server instead.
#
#   testenv/postgres/install.sh          # no-op when already installed (< 0.1 s)
set -euo pipefail
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"

installed() { compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && id postgres >/dev/null 2>&1; }
installed && exit 0

CACHE="${DETEK_TESTENV_CACHE:-$HOME/.cache/detek-testenv}/postgres"
mkdir -p "$CACHE"
exec 9>"$CACHE/install.lock"
flock 9
installed && exit 0

testenv_apt_install testenv/postgres postgresql
