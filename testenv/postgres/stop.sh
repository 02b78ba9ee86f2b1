#!/usr/bin/env bash
# Stops the PostgreSQL that start.sh DIR started (fast shutdown: open connections are cut);
# --purge also deletes DIR and the watchdog. Idempotent.
#
#   testenv/postgres/stop.sh DIR [--purge]
set -euo pipefail

[[ $# -ge 1 && $# -le 2 ]] || { echo "usage: $0 DIR [--purge]" >&2; exit 2; }
[[ -d "$1" ]] || exit 0
DIR="$(cd "$1" && pwd)"
PURGE="${2:-}"
PGBIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"

if [[ -f "$DIR/data/postmaster.pid" && -n "$PGBIN" ]]; then
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u "$(stat -c %U "$DIR/data")" -- "$PGBIN/pg_ctl" -D "$DIR/data" -m fast -w -t 30 stop >/dev/null
    else
        "$PGBIN/pg_ctl" -D "$DIR/data" -m fast -w -t 30 stop >/dev/null
    fi
    echo "testenv/postgres: stopped ($DIR)" >&2
fi

if [[ "$PURGE" == --purge ]]; then
    if [[ -f "$DIR/watchdog.pid" ]]; then
        pid="$(cat "$DIR/watchdog.pid")"
        # Only the watchdog of this DIR (its command line names DIR), never ourselves.
        if [[ "$pid" =~ ^[0-9]+$ && "$pid" != "$$" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$DIR"; then
            kill "$pid" 2>/dev/null || true
        fi
    fi
    rm -rf "$DIR"
    rmdir "$(dirname "$DIR")" 2>/dev/null || true
fi
