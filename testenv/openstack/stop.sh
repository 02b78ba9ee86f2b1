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

ours() {
    local pid="$1"
    [[ "$pid" =~ ^[0-9]+$ && "$pid" != "$$" ]] || return 1
    [[ -r "/proc/$pid/cmdline" ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$DIR"
}
alive() {
    kill -0 "$1" 2>/dev/null || return 1
    [[ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]]
}
stop_name() {
    local name="$1" pidfile="$DIR/$1.pid" pid
    [[ -f "$pidfile" ]] || return 0
    pid="$(cat "$pidfile")"
    rm -f "$pidfile"
    ours "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 100); do
        alive "$pid" || { echo "testenv/openstack: stopped $name ($pid)" >&2; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    echo "testenv/openstack: killed $name ($pid)" >&2
}

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
