#!/usr/bin/env bash
# Starts a throw-away OpenStack test cloud on loopback: a REAL Keystone (Debian's keystone
# package under uwsgi, sqlite database, fernet tokens) plus the replay server (replay.py) that
# serves Nova, Cinder, Octavia and Neutron from the official samples in samples/, validates
# every request's token against that Keystone, and is registered in its catalog.
#
#   testenv/openstack/start.sh DIR
#
# DIR receives everything: keystone.conf, keystone.db, fernet keys, logs (keystone.log,
# uwsgi.log, replay.log, setup.log), pid files, cloud.json (ids of the projects and users) and
# env (KEY=value lines, written last, mode 600: it holds the generated passwords).
# Stop with testenv/openstack/stop.sh DIR. See README.md for what is created.
#
# Environment: DETEK_TESTENV_CACHE (cache root), DETEK_TESTENV_NO_INSTALL=1 (fail instead of
# running install.sh), DETEK_TESTENV_WATCH_PID=PID (stop as soon as PID is gone),
# DETEK_TESTENV_TIMEOUT (seconds to wait for each server, default 60).
set -euo pipefail

[[ $# -eq 1 ]] || { echo "usage: $0 DIR" >&2; exit 2; }
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$1"
DIR="$(cd "$1" && pwd)"
# A DIR reused without stop.sh: stop what still runs there first.
ls "$DIR"/*.pid >/dev/null 2>&1 && "$HERE/stop.sh" "$DIR" >/dev/null 2>&1
CACHE="${DETEK_TESTENV_CACHE:-$HOME/.cache/detek-testenv}/openstack"
TIMEOUT="${DETEK_TESTENV_TIMEOUT:-60}"
PY=/usr/bin/python3   # Debian's python: the one keystone is installed for
export PYTHONDONTWRITEBYTECODE=1   # nothing written into the clone
T0=$EPOCHREALTIME
log() { echo "testenv/openstack: $*" >&2; }
elapsed() { awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f s", b - a }'; }
fail() {
    log "ERROR: $*"
    for f in uwsgi.log keystone.log setup.log replay.log; do
        [[ -s "$DIR/$f" ]] && { echo "--- tail of $DIR/$f" >&2; tail -n 25 "$DIR/$f" >&2; }
    done
    "$HERE/stop.sh" "$DIR" >/dev/null 2>&1 || true
    exit 1
}

if [[ "${DETEK_TESTENV_NO_INSTALL:-}" == 1 ]]; then
    [[ -x /usr/bin/keystone-manage && -x /usr/bin/uwsgi ]] || fail "keystone is not installed (run testenv/openstack/install.sh)"
else
    bash "$HERE/install.sh"
fi
mkdir -p "$CACHE"
umask 077

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
    local p
    for _ in $(seq 1 100); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 12768))
        if ! port_in_use "$p" && [[ " ${PICKED:-} " != *" $p "* ]]; then
            PICKED="${PICKED:-} $p"; echo "$p"; return 0
        fi
    done
    fail "no free loopback port found"
}
wait_http() { # URL: until it answers 2xx/3xx, bounded
    local url="$1" pid="$2" deadline=$(( $(date +%s) + TIMEOUT ))
    while (( $(date +%s) < deadline )); do
        kill -0 "$pid" 2>/dev/null || return 1
        "$PY" - "$url" <<'PYEOF' && return 0
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=2).read()
except Exception:
    sys.exit(1)
PYEOF
        sleep 0.2
    done
    return 1
}
secret() { "$PY" -c 'import secrets; print(secrets.token_hex(16))'; }

# ---------------------------------------------------------------- keystone config + database
KEYSTONE_VERSION="$(dpkg-query -W -f '${Version}' python3-keystone 2>/dev/null || echo unknown)"
mkdir -p "$DIR/fernet-keys" "$DIR/credential-keys"
cat >"$DIR/keystone.conf" <<CONF
[DEFAULT]
log_file = $DIR/keystone.log
debug = false
[identity]
# bcrypt's minimum cost: creating users and password tokens takes ms instead of ~0.3 s each.
password_hash_rounds = 4
[database]
# check_same_thread=false: SQLAlchemy's NullPool may close a connection from another uwsgi
# thread (harmless, but it logged an ERROR traceback every time).
connection = sqlite:///$DIR/keystone.db?check_same_thread=false
[token]
provider = fernet
expiration = 3600
[fernet_tokens]
key_repository = $DIR/fernet-keys
max_active_keys = 3
[fernet_receipts]
key_repository = $DIR/fernet-keys
[credential]
key_repository = $DIR/credential-keys
CONF
KM=(keystone-manage --config-file "$DIR/keystone.conf")


# `db_sync` takes ~10 s; a migrated empty database is kept per Keystone version.
TEMPLATE="$CACHE/keystone-${KEYSTONE_VERSION//[^0-9A-Za-z.+~-]/_}.db"
rm -f "$DIR/keystone.db"
exec 8>"$CACHE/keystone-db.lock"
flock 8   # environments starting together: one migrates, the others copy
if [[ -f "$TEMPLATE" ]]; then
    cp "$TEMPLATE" "$DIR/keystone.db"
else
    log "first start with keystone $KEYSTONE_VERSION: keystone-manage db_sync"
    "${KM[@]}" db_sync >>"$DIR/setup.log" 2>&1 || fail "keystone-manage db_sync failed"
    cp "$DIR/keystone.db" "$TEMPLATE.$$" && mv -f "$TEMPLATE.$$" "$TEMPLATE"
fi
exec 8>&-
# WAL: readers never block the writer. Without it a reader in one uwsgi worker holding its
# shared lock made another worker's commit fail with "database is locked".
"$PY" -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute("PRAGMA journal_mode=WAL")' "$DIR/keystone.db"
# Fernet keys as `keystone-manage fernet_setup` / `credential_setup` write them (0 = staged,
# 1 = primary; urlsafe base64 of 32 random bytes), without two more ~3 s python start-ups.
"$PY" - "$DIR" <<'PYEOF'
import base64, os, sys
for repo in ("fernet-keys", "credential-keys"):
    for n in ("0", "1"):
        with open(os.path.join(sys.argv[1], repo, n), "wb") as f:
            f.write(base64.urlsafe_b64encode(os.urandom(32)))
PYEOF

ADMIN_PASSWORD="$(secret)"; DEMO_PASSWORD="$(secret)"; NOLB_PASSWORD="$(secret)"
REPLAY_PASSWORD="$(secret)"; APPCRED_SECRET="$(secret)"

# ---------------------------------------------------------------- keystone under uwsgi
start_keystone() {
    "${KM[@]}" bootstrap --bootstrap-password="$ADMIN_PASSWORD" \
        --bootstrap-username admin --bootstrap-project-name admin --bootstrap-role-name admin \
        --bootstrap-service-name keystone --bootstrap-region-id RegionOne \
        --bootstrap-admin-url "$KEYSTONE_URL/v3" --bootstrap-public-url "$KEYSTONE_URL/v3" \
        --bootstrap-internal-url "$KEYSTONE_URL/v3" >>"$DIR/setup.log" 2>&1 &
    local bootstrap=$!
    # 2 processes x 4 threads: concurrent token requests and validations do not queue.
    # uwsgi's --http-socket closes the connection after each response: "Connection: close"
    # says so, or clients that pool connections (keystonemiddleware, reqwest) fail on reuse.
    OS_KEYSTONE_CONFIG_FILES="$DIR/keystone.conf" setsid uwsgi --plugin python3 \
        --http-socket "127.0.0.1:$KEYSTONE_PORT" --wsgi-file /usr/bin/keystone-wsgi-public \
        --master --processes 2 --threads 4 --die-on-term --need-app --buffer-size 65535 --add-header "Connection: close" \
        --disable-logging --log-4xx --log-5xx \
        --procname-prefix "detek-keystone[$DIR] " \
        </dev/null >>"$DIR/uwsgi.log" 2>&1 &
    KEYSTONE_PID=$!
    echo "$KEYSTONE_PID" >"$DIR/keystone.pid"
    # uwsgi loads the app (~3 s) while bootstrap writes the database (same time).
    wait "$bootstrap" || fail "keystone-manage bootstrap failed"
    wait_http "$KEYSTONE_URL/v3" "$KEYSTONE_PID"
}
for attempt in 1 2 3 4 5; do
    PICKED=""
    KEYSTONE_PORT=$(pick_port); REPLAY_PORT=$(pick_port); PROBE_PORT=$(pick_port)
    KEYSTONE_URL="http://127.0.0.1:$KEYSTONE_PORT"
    if start_keystone; then break; fi
    if grep -q "Address already in use" "$DIR/uwsgi.log" 2>/dev/null; then
        log "port collision, retrying ($attempt)"; "$HERE/stop.sh" "$DIR" >/dev/null 2>&1 || true
        : >"$DIR/uwsgi.log"; continue
    fi
    fail "keystone did not answer on $KEYSTONE_URL/v3 within $TIMEOUT s"
done
log "keystone ready on $KEYSTONE_URL ($(elapsed))"

# ---------------------------------------------------------------- an honestly unreachable address
# A network namespace holding 198.18.N.2 (RFC 2544 benchmarking range, never routed) whose
# replies are blackholed: ICMP echo and TCP SYNs sent to it get no answer at all, like a hung
# VM. Needs root (CAP_NET_ADMIN); without it the unreachable address is a 127.x address with
# nothing listening (TCP refused; ICMP would still answer, so UNREACHABLE_KIND says which).
REACHABLE_ADDR=127.0.0.1
UNREACHABLE_ADDR=127.0.0.2; UNREACHABLE_KIND=loopback-refused; NETNS=""
if [[ $(id -u) -eq 0 ]] && command -v ip >/dev/null; then
    for _ in $(seq 1 20); do
        n=$(( RANDOM % 250 + 1 )); tag=$(printf '%04x' $(( RANDOM % 65536 )))
        ip -4 addr show | grep -q "198\.18\.$n\." && continue
        ns="detek-os-$tag"
        ip netns add "$ns" 2>/dev/null || continue
        if ip link add "dko$tag" type veth peer name "dkn$tag" netns "$ns" \
            && ip addr add "198.18.$n.1/24" dev "dko$tag" && ip link set "dko$tag" up \
            && ip -n "$ns" link set lo up && ip -n "$ns" link set "dkn$tag" up \
            && ip -n "$ns" addr add "198.18.$n.2/32" dev "dkn$tag" \
            && ip -n "$ns" route add blackhole default; then
            NETNS="$ns"; UNREACHABLE_ADDR="198.18.$n.2"; UNREACHABLE_KIND=netns-blackhole
            echo "$ns" >"$DIR/netns"
        else
            ip link del "dko$tag" 2>/dev/null || true; ip netns del "$ns" 2>/dev/null || true
        fi
        break
    done
fi
[[ -n "$NETNS" ]] || log "no network namespace (not root?): unreachable address is $UNREACHABLE_ADDR (TCP refused only)"

REPLAY_URL="http://127.0.0.1:$REPLAY_PORT"
export ADMIN_PASSWORD DEMO_PASSWORD NOLB_PASSWORD REPLAY_PASSWORD APPCRED_SECRET KEYSTONE_URL REPLAY_URL

# ---------------------------------------------------------------- the real nova-api: start
# DETEK_TESTENV_OS_NOVA: auto (default: the real nova-api when installed, else Nova from the
# replay server), real (fail without it), replay (never start it). uwsgi loads Nova (10-20 s)
# while setup_cloud.py runs.
NOVA_MODE="${DETEK_TESTENV_OS_NOVA:-auto}"
NOVA_BACKEND=replay; NOVA_URL=""; NOVA_PID=""; NOVA_PORT=""
export CACHE TIMEOUT REACHABLE_ADDR UNREACHABLE_ADDR
nova_failed() {
    [[ -f "$DIR/nova.pid" ]] && kill "$(cat "$DIR/nova.pid")" 2>/dev/null; rm -f "$DIR/nova.pid"
    NOVA_BACKEND=replay
    [[ "$NOVA_MODE" == real ]] && fail "the real nova-api did not start (see $DIR/nova/)"
    log "the real nova-api did not start (see $DIR/nova/); Nova is replayed"
}
if [[ "$NOVA_MODE" != replay ]]; then
    if [[ -x /usr/bin/nova-api-wsgi ]]; then
        NOVA_PORT=$(pick_port)
        if bash "$HERE/nova.sh" start "$DIR" "$NOVA_PORT"; then NOVA_BACKEND=starting; else nova_failed; fi
    elif [[ "$NOVA_MODE" == real ]]; then
        fail "nova-api is not installed (testenv/openstack/install.sh installs it)"
    fi
fi

# ---------------------------------------------------------------- projects, users, catalog
"$PY" "$HERE/setup_cloud.py" "$DIR" >>"$DIR/setup.log" 2>&1 || fail "setup_cloud.py failed"
log "projects, users, application credential and catalog created ($(elapsed))"

# ---------------------------------------------------------------- the real nova-api: wait
if [[ "$NOVA_BACKEND" == starting ]]; then
    if bash "$HERE/nova.sh" seed "$DIR" && bash "$HERE/nova.sh" wait "$DIR" "$NOVA_PORT"; then
        NOVA_BACKEND=nova-api; NOVA_URL="http://127.0.0.1:$NOVA_PORT"; NOVA_PID="$(cat "$DIR/nova.pid")"
        log "real nova-api ready on $NOVA_URL ($(elapsed))"
    else
        nova_failed
    fi
fi

# ---------------------------------------------------------------- replay server
setsid "$PY" "$HERE/replay.py" --dir "$DIR" --port "$REPLAY_PORT" --probe-port "$PROBE_PORT" \
    --reachable "$REACHABLE_ADDR" --unreachable "$UNREACHABLE_ADDR" --samples "$HERE/samples" --keystone-url "$KEYSTONE_URL" ${NOVA_URL:+--nova-url "$NOVA_URL"} \
    </dev/null >>"$DIR/replay.log" 2>&1 &
REPLAY_PID=$!
echo "$REPLAY_PID" >"$DIR/replay.pid"
wait_http "$REPLAY_URL/_control/health" "$REPLAY_PID" || fail "replay server did not start on $REPLAY_URL"
log "replay server ready on $REPLAY_URL ($(elapsed))"

# ---------------------------------------------------------------- watchdog
WATCHDOG_PID=""
if [[ -n "${DETEK_TESTENV_WATCH_PID:-}" ]]; then
    # shellcheck disable=SC2016 # expanded by the inner bash
    setsid bash -c '
        while kill -0 "$1" 2>/dev/null && [[ -f "$2/keystone.pid" ]]; do sleep 1; done
        [[ -f "$2/keystone.pid" ]] && exec "$3" "$2"
    ' detek-os-watchdog "$DETEK_TESTENV_WATCH_PID" "$DIR" "$HERE/stop.sh" \
        </dev/null >>"$DIR/watchdog.log" 2>&1 &
    WATCHDOG_PID=$!
    echo "$WATCHDOG_PID" >"$DIR/watchdog.pid"
fi

# ---------------------------------------------------------------- env file
"$PY" - "$DIR" >"$DIR/env.tmp" <<'PYEOF'
import json, os, sys
d = sys.argv[1]
c = json.load(open(os.path.join(d, "cloud.json")))
for k, v in c.items():
    print(f"{k.upper()}={v}")
PYEOF
cat >>"$DIR/env.tmp" <<ENVEOF
TESTENV_DIR=$DIR
KEYSTONE_URL=$KEYSTONE_URL
AUTH_URL=$KEYSTONE_URL/v3
KEYSTONE_PORT=$KEYSTONE_PORT
KEYSTONE_VERSION=$KEYSTONE_VERSION
KEYSTONE_PID=$KEYSTONE_PID
REPLAY_URL=$REPLAY_URL
REPLAY_PID=$REPLAY_PID
PROBE_PORT=$PROBE_PORT
REACHABLE_ADDR=$REACHABLE_ADDR
UNREACHABLE_ADDR=$UNREACHABLE_ADDR
UNREACHABLE_KIND=$UNREACHABLE_KIND
NETNS=$NETNS
WATCHDOG_PID=$WATCHDOG_PID
NOVA_BACKEND=$NOVA_BACKEND
NOVA_URL=$NOVA_URL
NOVA_PID=$NOVA_PID
REGION=RegionOne
ADMIN_PASSWORD=$ADMIN_PASSWORD
DEMO_PASSWORD=$DEMO_PASSWORD
NOLB_PASSWORD=$NOLB_PASSWORD
APPCRED_SECRET=$APPCRED_SECRET
ENVEOF
mv -f "$DIR/env.tmp" "$DIR/env"
log "environment ready in $(elapsed): source $DIR/env"
