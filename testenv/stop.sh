#!/usr/bin/env bash
# Stops an environment started by start.sh.
#
#   testenv/stop.sh DIR [--purge]
#
# Sends SIGTERM to kube-apiserver and etcd (SIGKILL after 10 s), removes the
# pid files, and with --purge deletes DIR entirely. Only processes whose
# command line refers to DIR are signalled (guards against reused pids).
# Exits 0 when nothing is running (idempotent).
set -uo pipefail

[[ $# -ge 1 && $# -le 2 ]] || { echo "usage: $0 DIR [--purge]" >&2; exit 2; }
[[ $# -eq 1 || "$2" == --purge ]] || { echo "usage: $0 DIR [--purge]" >&2; exit 2; }
[[ -d "$1" ]] || exit 0
DIR="$(cd "$1" && pwd)"

LABEL=testenv
# shellcheck source=pids.sh
source "$(dirname "$0")/pids.sh"

stop_name watchdog
stop_name kube-apiserver
stop_name etcd
if [[ $# -eq 2 ]]; then
    rm -rf "$DIR"
fi
exit 0
