#!/usr/bin/env bash
# Installs Debian's `postgresql` package once per machine (the hub's storage tests run the
# same tests on SQLite and on this real PostgreSQL). The package's own service is never
# started (a policy-rc.d denies it for the time of the install); start.sh runs a private
# server instead.
#
#   testenv/postgres/install.sh          # no-op when already installed (< 0.1 s)
set -euo pipefail

installed() { compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && id postgres >/dev/null 2>&1; }
installed && exit 0

CACHE="${DETEK_TESTENV_CACHE:-$HOME/.cache/detek-testenv}/postgres"
mkdir -p "$CACHE"
exec 9>"$CACHE/install.lock"
flock 9
installed && exit 0

if [[ $(id -u) -ne 0 ]]; then
    echo "testenv/postgres: PostgreSQL is not installed and this is not root; run as root: apt-get install postgresql" >&2
    exit 1
fi
echo "testenv/postgres: installing Debian's postgresql package (first use on this machine)" >&2
start=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
POLICY=/usr/sbin/policy-rc.d
if [[ ! -e "$POLICY" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$POLICY" && chmod +x "$POLICY"
    trap 'rm -f "$POLICY"' EXIT
fi
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends postgresql >&2
echo "testenv/postgres: postgresql installed in $(( $(date +%s) - start )) s" >&2
