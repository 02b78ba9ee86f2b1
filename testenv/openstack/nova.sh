#!/usr/bin/env bash
# Starts the REAL nova-api (Debian's nova-api package, under uwsgi) for the test cloud, with
# sqlite databases (API, cell0, cell1), no conductor, scheduler or compute: the dataset is
# written by nova_seed.py through Nova's object layer. Called by start.sh (not on its own).
#
#   nova.sh start DIR PORT   config, databases, launch uwsgi (returns while Nova loads, ~10-20 s)
#   nova.sh seed DIR         the dataset (needs DIR/cloud.json from setup_cloud.py)
#   nova.sh wait DIR PORT    until both uwsgi workers have loaded Nova and GET / answers
#   (env: KEYSTONE_URL REPLAY_URL REPLAY_PASSWORD REACHABLE_ADDR UNREACHABLE_ADDR CACHE TIMEOUT)
#
# Tokens are validated by Nova's own keystonemiddleware against the real Keystone (as the
# `replay` service user, no token cache, so a revoked token fails at once). Links point at the
# replay server (compute_link_prefix), which proxies /compute/ here.
# Logs: DIR/nova/{nova.log,uwsgi.log,manage.log}.
set -euo pipefail
PHASE="$1"; DIR="$2"; PORT="${3:-}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY=/usr/bin/python3
N="$DIR/nova"

if [[ "$PHASE" == seed ]]; then
    exec "$PY" "$HERE/nova_seed.py" "$DIR" "$REACHABLE_ADDR" "$UNREACHABLE_ADDR" >>"$N/manage.log" 2>&1
fi

if [[ "$PHASE" == wait ]]; then
    deadline=$(( $(date +%s) + TIMEOUT ))
    while (( $(date +%s) < deadline )); do
        kill -0 "$(cat "$DIR/nova.pid")" 2>/dev/null || exit 1
        # lazy-apps: each worker loads Nova itself; ready when both have (else a request may
        # get uwsgi's 503 from a worker still loading).
        if (( $(grep -c "WSGI app 0 (mountpoint='') ready" "$N/uwsgi.log") >= 2 )); then
            "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
                "http://127.0.0.1:$PORT/" 2>/dev/null && exit 0
        fi
        sleep 0.3
    done
    exit 1
fi

[[ "$PHASE" == start ]] || { echo "usage: nova.sh start|seed|wait DIR [PORT]" >&2; exit 2; }
mkdir -p "$N/lock"
cp /etc/nova/api-paste.ini "$N/"
cat >"$N/nova.conf" <<CONF
[DEFAULT]
log_file = $N/nova.log
state_path = $N
transport_url = fake://
host = apihost
# Nova says a service is down when it has not reported for service_down_time seconds: the
# seeded "up" services reported at start, the "down" ones in 2012 (ten years: always).
service_down_time = 315360000
[api]
auth_strategy = keystone
compute_link_prefix = $REPLAY_URL/compute
[api_database]
connection = sqlite:///$N/nova_api.db
[database]
connection = sqlite:///$N/nova_cell1.db
[keystone_authtoken]
www_authenticate_uri = $KEYSTONE_URL/v3
auth_url = $KEYSTONE_URL/v3
auth_type = password
username = replay
password = $REPLAY_PASSWORD
project_name = service
user_domain_name = Default
project_domain_name = Default
token_cache_time = -1
[oslo_concurrency]
lock_path = $N/lock
[wsgi]
api_paste_config = $N/api-paste.ini
CONF
chmod 600 "$N/nova.conf"

# The three migrated empty databases are cached per nova version (~30 s of nova-manage).
NOVA_VERSION="$(dpkg-query -W -f '${Version}' python3-nova 2>/dev/null || echo unknown)"
T="$CACHE/nova-${NOVA_VERSION//[^0-9A-Za-z.+~-]/_}"
NM=(nova-manage --config-file "$N/nova.conf")
exec 8>"$CACHE/nova-db.lock"
flock 8   # environments starting together: one migrates, the others copy
if [[ -f "$T/nova_api.db" && -f "$T/dir" ]]; then
    cp "$T"/nova_*.db "$N/"
    # The API database's cell mappings name the cell databases by path.
    "$PY" - "$N/nova_api.db" "$(cat "$T/dir")" "$N" <<'PYEOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE cell_mappings SET database_connection = replace(database_connection, ?, ?)",
          (sys.argv[2], sys.argv[3]))
c.commit()
PYEOF
else
    echo "testenv/openstack: first start with nova $NOVA_VERSION: nova-manage db syncs" >&2
    { "${NM[@]}" api_db sync \
        && "${NM[@]}" cell_v2 map_cell0 --database_connection "sqlite:///$N/nova_cell0.db" \
        && "${NM[@]}" cell_v2 create_cell --name cell1 \
        && "${NM[@]}" db sync; } >>"$N/manage.log" 2>&1
    mkdir -p "$T.$$" && cp "$N"/nova_*.db "$T.$$/" && echo "$N" >"$T.$$/dir"
    rm -rf "$T" && mv "$T.$$" "$T"
fi
exec 8>&-
for db in "$N"/nova_*.db; do
    "$PY" -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute("PRAGMA journal_mode=WAL")' "$db"
done
# One thread per process, as Debian's nova-api-uwsgi.ini (Nova's API runs eventlet-patched).
OS_NOVA_CONFIG_DIR="$N" setsid uwsgi --plugin python3 --http-socket "127.0.0.1:$PORT" \
    --wsgi-file /usr/bin/nova-api-wsgi --master --processes 2 --threads 1 --enable-threads \
    --lazy-apps --thunder-lock --die-on-term \
    --need-app --buffer-size 65535 --add-header "Connection: close" --disable-logging --log-4xx --log-5xx \
    --procname-prefix "detek-nova[$DIR] " </dev/null >>"$N/uwsgi.log" 2>&1 &
echo $! >"$DIR/nova.pid"
