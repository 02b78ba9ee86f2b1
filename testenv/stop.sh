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

ours() {
    local pid="$1"
    [[ "$pid" =~ ^[0-9]+$ && "$pid" != "$$" ]] || return 1
    [[ -r "/proc/$pid/cmdline" ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$DIR"
}

# A zombie (exited, not yet reaped by its parent) counts as stopped.
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
        alive "$pid" || { echo "testenv: stopped $name ($pid)" >&2; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    echo "testenv: killed $name ($pid)" >&2
}

stop_name watchdog
stop_name kube-apiserver
stop_name etcd
if [[ $# -eq 2 ]]; then
    rm -rf "$DIR"
fi
exit 0
