#!/usr/bin/env bash
# Stops what testenv/sshd/start.sh DIR started: the sshd instances, the silent port, the
# network namespaces and their veth pairs; --purge also deletes DIR and the watchdog.
# Idempotent.
#
#   testenv/sshd/stop.sh DIR [--purge]
set -euo pipefail

[[ $# -ge 1 && $# -le 2 ]] || { echo "usage: $0 DIR [--purge]" >&2; exit 2; }
[[ -d "$1" ]] || exit 0
DIR="$(cd "$1" && pwd)"
PURGE="${2:-}"
LABEL=testenv/sshd
# shellcheck source=../pids.sh
source "$(dirname "${BASH_SOURCE[0]}")/../pids.sh"

for f in "$DIR"/*.pid; do
    [[ -e $f ]] || continue
    name=$(basename "$f" .pid)
    [[ $name == watchdog ]] && continue
    stop_name "$name"
done
# A namespace's sshd may have been started through `ip netns exec`: whatever still runs in
# the namespace goes with it.
if [[ -f "$DIR/netns" ]]; then
    while read -r ns; do
        [[ $ns =~ ^detek-sshd-[0-9]+-[0-9]+$ ]] || continue
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
        ip netns delete "$ns" 2>/dev/null || true
    done <"$DIR/netns"
    rm -f "$DIR/netns"
fi
if [[ -f "$DIR/links" ]]; then
    while read -r link; do ip link delete "$link" 2>/dev/null || true; done <"$DIR/links"
    rm -f "$DIR/links"
fi

if [[ "$PURGE" == --purge ]]; then
    if [[ -f "$DIR/watchdog.pid" ]]; then
        pid="$(cat "$DIR/watchdog.pid")"
        if [[ "$pid" =~ ^[0-9]+$ && "$pid" != "$$" ]] && { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qF -- "$DIR"; then
            kill "$pid" 2>/dev/null || true
        fi
    fi
    rm -rf "$DIR"
fi
