#!/usr/bin/env bash
# Stops an environment started by testenv/openstack/start.sh.
#
#   testenv/openstack/stop.sh DIR [--purge]
#
# SIGTERM (SIGKILL after 10 s) to the watchdog, the replay server and Keystone's uwsgi master
# (which stops its workers), deletes the network namespace and its veth, and with --purge
# deletes DIR. Only processes whose command line names DIR are signalled. Idempotent.
set -uo pipefail

[[ $# -ge 1 && $# -le 2 ]] || { echo "usage: $0 DIR [--purge]" >&2; exit 2; }
[[ $# -eq 1 || "$2" == --purge ]] || { echo "usage: $0 DIR [--purge]" >&2; exit 2; }
[[ -d "$1" ]] || exit 0
DIR="$(cd "$1" && pwd)"

LABEL=testenv/openstack
# shellcheck source=pids.sh
source "$(dirname "$0")/../pids.sh"

stop_name watchdog
stop_name replay
stop_name nova
stop_name keystone
if [[ -f "$DIR/netns" ]]; then
    ns="$(cat "$DIR/netns")"
    if [[ "$ns" =~ ^detek-os-[0-9a-f]{4}$ ]]; then
        ip link del "dko${ns#detek-os-}" 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
    fi
    rm -f "$DIR/netns"
fi
if [[ $# -eq 2 ]]; then
    rm -rf "$DIR"
fi
exit 0
