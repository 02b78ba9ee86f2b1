#!/usr/bin/env bash
# Starts a private, throw-away PostgreSQL on a loopback port (and a socket in DIR): Debian's
# `postgresql` binaries, run as a non-root user (`postgres` when called as root).
#
#   testenv/postgres/start.sh DIR
#
# DIR receives the cluster (data/), its log (postgres.log) and env (KEY=value lines, mode
# 600, written last):
#   POSTGRES_BASE_URL=postgres://detek:PASSWORD@127.0.0.1:PORT   (append /DBNAME)
#   POSTGRES_PORT, POSTGRES_SOCKET_DIR, POSTGRES_DATA
# A DIR that already holds a stopped cluster is started again on the same port with the same
# data and password (what the PostgreSQL-restart tests do). Stop with stop.sh DIR.
#
# The cluster made by initdb is cached once per PostgreSQL version in
# ${DETEK_TESTENV_CACHE:-$HOME/.cache/detek-testenv}/postgres and copied (faster than initdb).
# Durability is traded for speed (fsync off): these are test databases.
#
# Environment: DETEK_TESTENV_CACHE (cache root), DETEK_TESTENV_WATCH_PID=PID (stop and delete
# DIR as soon as PID is gone), DETEK_TESTENV_NO_INSTALL=1 (fail instead of installing).
set -euo pipefail

[[ $# -eq 1 ]] || { echo "usage: $0 DIR" >&2; exit 2; }
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$1"
DIR="$(cd "$1" && pwd)"
[[ "$DIR" =~ ^[A-Za-z0-9_./+@:,-]+$ ]] || { echo "testenv/postgres: DIR must not contain spaces or shell metacharacters: $DIR" >&2; exit 2; }
log() { echo "testenv/postgres: $*" >&2; }
fail() {
    log "ERROR: $*"
    [[ -s "$DIR/postgres.log" ]] && { echo "--- tail of $DIR/postgres.log" >&2; tail -n 25 "$DIR/postgres.log" >&2; }
    exit 1
}

if [[ "${DETEK_TESTENV_NO_INSTALL:-}" == 1 ]]; then
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || fail "postgresql is not installed (run testenv/postgres/install.sh)"
else
    bash "$HERE/install.sh"
fi
PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
VERSION="$(basename "$(dirname "$PGBIN")")"

# PostgreSQL refuses to run as root.
if [[ $(id -u) -eq 0 ]]; then
    RUN_AS=postgres
    as_user() { runuser -u "$RUN_AS" -- "$@"; }
else
    RUN_AS="$(id -un)"
    as_user() { "$@"; }
fi

CACHE="${DETEK_TESTENV_CACHE:-$HOME/.cache/detek-testenv}/postgres"
TEMPLATE="$CACHE/template-$VERSION"
mkdir -p "$CACHE"
if [[ ! -f "$TEMPLATE/PG_VERSION" ]]; then
    exec 8>"$CACHE/template.lock"
    flock 8
    if [[ ! -f "$TEMPLATE/PG_VERSION" ]]; then
        tmp="$(mktemp -d)"
        chmod 755 "$tmp"
        [[ $(id -u) -eq 0 ]] && chown "$RUN_AS" "$tmp"
        # Socket connections in DIR (mode 700) trust the server's own user; TCP needs the
        # password (SCRAM), as a real deployment would.
        as_user "$PGBIN/initdb" -D "$tmp/data" -U detek --auth-local=trust \
            --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$tmp/initdb.log" 2>&1 \
            || { cat "$tmp/initdb.log" >&2; fail "initdb failed"; }
        rm -rf "$TEMPLATE"
        mv "$tmp/data" "$TEMPLATE"
        rm -rf "$tmp"
    fi
    flock -u 8
fi

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
FIRST=0
if [[ ! -f "$DIR/data/PG_VERSION" ]]; then
    FIRST=1
    cp -a "$TEMPLATE" "$DIR/data"
    PORT=""
    for _ in $(seq 1 100); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 12768))
        port_in_use "$p" || { PORT=$p; break; }
    done
    [[ -n "$PORT" ]] || fail "no free loopback port found"
    PASSWORD="$(head -c 18 /dev/urandom | base64 | tr '+/' 'xy')"
else
    # shellcheck disable=SC1091
    PORT="$(sed -n 's/^POSTGRES_PORT=//p' "$DIR/env")"
    PASSWORD="$(sed -n 's|^POSTGRES_BASE_URL=postgres://detek:\([^@]*\)@.*|\1|p' "$DIR/env")"
    [[ -n "$PORT" && -n "$PASSWORD" ]] || fail "$DIR/env does not name the port and password"
fi

if [[ $(id -u) -eq 0 ]]; then
    chown -R "$RUN_AS" "$DIR"
    # The server's user must reach DIR through its parent (e.g. a test's 0700 temp dir).
    runuser -u "$RUN_AS" -- test -x "$DIR" || chmod o+x "$(dirname "$DIR")"
fi
chmod 700 "$DIR" "$DIR/data"

as_user "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/postgres.log" -w -t 60 start -o \
    "-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$DIR \
     -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    >/dev/null || fail "pg_ctl start failed"

if [[ $FIRST == 1 ]]; then
    as_user "$PGBIN/psql" -h "$DIR" -p "$PORT" -U detek -d postgres -v ON_ERROR_STOP=1 -q \
        -c "ALTER USER detek PASSWORD '$PASSWORD'" || fail "setting the password failed"
fi

if [[ -n "${DETEK_TESTENV_WATCH_PID:-}" && ! -f "$DIR/watchdog.pid" ]]; then
    # shellcheck disable=SC2016 # expanded by the inner bash
    setsid bash -c '
        while kill -0 "$1" 2>/dev/null && [[ -d "$2/data" ]]; do sleep 1; done
        [[ -d "$2/data" ]] && exec "$3" "$2" --purge
    ' detek-testenv-postgres-watchdog "$DETEK_TESTENV_WATCH_PID" "$DIR" "$HERE/stop.sh" \
        </dev/null >/dev/null 2>&1 &
    echo $! >"$DIR/watchdog.pid"
fi

umask 077
cat >"$DIR/env.tmp" <<ENV
POSTGRES_BASE_URL=postgres://detek:$PASSWORD@127.0.0.1:$PORT
POSTGRES_PORT=$PORT
POSTGRES_SOCKET_DIR=$DIR
POSTGRES_DATA=$DIR/data
ENV
mv "$DIR/env.tmp" "$DIR/env"
log "PostgreSQL $VERSION ready on 127.0.0.1:$PORT (as $RUN_AS, $DIR)"
