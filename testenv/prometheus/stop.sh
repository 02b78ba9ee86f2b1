#!/usr/bin/env bash
# Stops what start.sh DIR started (Prometheus, node-exporter, the exporter: the pids it
# recorded, each checked against its command line); --purge also deletes DIR. Idempotent.
#
#   testenv/prometheus/stop.sh DIR [--purge]
set -euo pipefail

[[ $# -ge 1 && $# -le 2 ]] || { echo "usage: $0 DIR [--purge]" >&2; exit 2; }
[[ -d "$1" ]] || exit 0
DIR="$(cd "$1" && pwd)"
PURGE="${2:-}"

# A pid is ours when its command line names DIR or its port (never another process).
owned() { [[ "$1" =~ ^[0-9]+$ && "$1" != "$$" ]] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qE -- "$2"; }
if [[ -f "$DIR/pids" ]]; then
    ports="$(sed -n 's/^PROMETHEUS_[A-Z_]*=\(http:\/\/\)\{0,1\}127\.0\.0\.1:\([0-9]*\)$/\2/p' "$DIR/env" 2>/dev/null | paste -sd'|')"
    pattern="$DIR${ports:+|127\\.0\\.0\\.1:($ports)}"
    while read -r pid name; do
        if owned "$pid" "$pattern"; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
        fi
    done <"$DIR/pids"
    rm -f "$DIR/pids"
    echo "testenv/prometheus: stopped ($DIR)" >&2
fi

if [[ "$PURGE" == --purge ]]; then
    if [[ -f "$DIR/watchdog.pid" ]]; then
        pid="$(cat "$DIR/watchdog.pid")"
        owned "$pid" "$DIR" && kill "$pid" 2>/dev/null || true
    fi
    rm -rf "$DIR"
    rmdir "$(dirname "$DIR")" 2>/dev/null || true
fi
