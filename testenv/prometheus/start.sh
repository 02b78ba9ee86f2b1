#!/usr/bin/env bash
# Starts the test Prometheus (Debian's `prometheus`), a real node-exporter and our exporter on
# loopback ports, with days of history loaded by promtool before the start and alerting
# rules that fire within seconds.
#
#   testenv/prometheus/start.sh DIR
#
# Steps: scenario.py writes the changed kube-state-metrics / cAdvisor / node dumps and their
# history (OpenMetrics, DIR/history.om); `promtool tsdb create-blocks-from openmetrics` turns
# the history into blocks in DIR/data; then exporter.py, prometheus-node-exporter (conntrack
# and uname collectors only: the host's memory and disks must not make findings) and
# prometheus (basic auth from DIR/web.yml; scrape every 2 s, rules every 1 s) start, and
# the script waits until the two 5-second alerts fire.
#
# DIR/env (KEY=value lines, mode 600, written last):
#   PROMETHEUS_URL=http://127.0.0.1:PORT  PROMETHEUS_USER=detek  PROMETHEUS_PASSWORD=…
#   PROMETHEUS_EXPORTER=127.0.0.1:PORT  PROMETHEUS_NODE_EXPORTER=127.0.0.1:PORT
#   PROMETHEUS_DEAD_LONG / PROMETHEUS_DEAD_NEW=127.0.0.1:PORT   (nothing listens there)
#   PROMETHEUS_T0=SECONDS   (the end of the loaded history)
# Stop with stop.sh DIR [--purge].
#
# Environment: DETEK_TESTENV_WATCH_PID=PID (stop and delete DIR as soon as PID is gone),
# DETEK_TESTENV_NO_INSTALL=1 (fail instead of installing), DETEK_PROMETHEUS_SCRAPE_INTERVAL
# (default 2s; the benchmark's large exporter needs more), DETEK_BENCH_PODS (exporter.py).
set -euo pipefail

[[ $# -eq 1 ]] || { echo "usage: $0 DIR" >&2; exit 2; }
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DATA="$HERE/../../crates/detek-prometheus/tests/data/nri"
mkdir -p "$1"
DIR="$(cd "$1" && pwd)"
[[ "$DIR" =~ ^[A-Za-z0-9_./+@:,-]+$ ]] || { echo "testenv/prometheus: DIR must not contain spaces or shell metacharacters: $DIR" >&2; exit 2; }
log() { echo "testenv/prometheus: $*" >&2; }
fail() {
    log "ERROR: $*"
    for f in prometheus.log exporter.log node-exporter.log promtool.log; do
        [[ -s "$DIR/$f" ]] && { echo "--- tail of $DIR/$f" >&2; tail -n 15 "$DIR/$f" >&2; }
    done
    bash "$HERE/stop.sh" "$DIR" || true
    exit 1
}

if [[ "${DETEK_TESTENV_NO_INSTALL:-}" == 1 ]]; then
    command -v prometheus >/dev/null || fail "prometheus is not installed (run testenv/prometheus/install.sh)"
else
    bash "$HERE/install.sh"
fi

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
declare -A taken=()
free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 12768))
        [[ -z "${taken[$p]:-}" ]] && ! port_in_use "$p" && { taken[$p]=1; echo "$p"; return; }
    done
    fail "no free loopback port found"
}
PROM_PORT=$(free_port); EXPORTER_PORT=$(free_port); NODE_PORT=$(free_port)
DEAD_LONG_PORT=$(free_port); DEAD_NEW_PORT=$(free_port)
PASSWORD="$(head -c 18 /dev/urandom | base64 | tr '+/' 'xy')"
HASH="$(python3 -W ignore -c 'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))' "$PASSWORD")"

SCRAPE_INTERVAL="${DETEK_PROMETHEUS_SCRAPE_INTERVAL:-2s}"
T0="$(date +%s)"
mkdir -p "$DIR/exporter" "$DIR/data"
python3 "$HERE/scenario.py" "$DATA" "$DIR" "$T0" "127.0.0.1:$EXPORTER_PORT" "127.0.0.1:$DEAD_LONG_PORT" \
    || fail "scenario.py failed"
promtool tsdb create-blocks-from openmetrics "$DIR/history.om" "$DIR/data" >"$DIR/promtool.log" 2>&1 \
    || fail "promtool tsdb create-blocks-from openmetrics failed"
rm -f "$DIR/history.om"

cp "$HERE/rules.yml" "$DIR/rules.yml"
umask 077
cat >"$DIR/web.yml" <<YML
basic_auth_users:
  detek: '$HASH'
YML
cat >"$DIR/prometheus.yml" <<YML
global:
  scrape_interval: $SCRAPE_INTERVAL
  scrape_timeout: $SCRAPE_INTERVAL
  evaluation_interval: 1s
rule_files: ["$DIR/rules.yml"]
scrape_configs:
  - job_name: kube-state-metrics
    honor_timestamps: false
    metrics_path: /ksm/metrics
    static_configs: [{targets: ["127.0.0.1:$EXPORTER_PORT"]}]
  - job_name: kubelet
    honor_timestamps: false
    metrics_path: /metrics/cadvisor
    static_configs: [{targets: ["127.0.0.1:$EXPORTER_PORT"]}]
  - job_name: node-exporter
    static_configs:
      - targets: ["127.0.0.1:$EXPORTER_PORT"]
        labels: {__metrics_path__: /node/metrics}
      - targets: ["127.0.0.1:$NODE_PORT"]
  - job_name: dead-exporter
    static_configs: [{targets: ["127.0.0.1:$DEAD_LONG_PORT", "127.0.0.1:$DEAD_NEW_PORT"]}]
YML
umask 022

start() { # NAME COMMAND...: start in the background, pid into DIR/pids
    local name=$1; shift
    setsid "$@" >"$DIR/$name.log" 2>&1 </dev/null &
    echo "$! $name" >>"$DIR/pids"
}
: >"$DIR/pids"
start exporter python3 "$HERE/exporter.py" "$DIR/exporter" 127.0.0.1 "$EXPORTER_PORT" "$T0"
start node-exporter prometheus-node-exporter --web.listen-address="127.0.0.1:$NODE_PORT" \
    --collector.disable-defaults --collector.conntrack --collector.uname
start prometheus prometheus --config.file="$DIR/prometheus.yml" --web.config.file="$DIR/web.yml" \
    --storage.tsdb.path="$DIR/data" --storage.tsdb.retention.time=30d \
    --web.listen-address="127.0.0.1:$PROM_PORT"

URL="http://127.0.0.1:$PROM_PORT"
api() { curl -fsS -u "detek:$PASSWORD" "$URL$1"; }
ready=0
for _ in $(seq 1 300); do
    api /-/ready >/dev/null 2>&1 && { ready=1; break; }
    sleep 0.1
done
[[ $ready == 1 ]] || fail "Prometheus did not get ready in 30 s"
# The two 5-second alerts fire after their first evaluations (rules every second).
firing=0
for _ in $(seq 1 300); do
    n="$(api /api/v1/alerts | python3 -c 'import json,sys; a=json.load(sys.stdin)["data"]["alerts"]; print(sum(1 for x in a if x["state"]=="firing" and x["labels"]["alertname"] in ("KubeDeploymentReplicasMismatch","KubeAPIDown")))' 2>/dev/null || echo 0)"
    [[ "$n" -ge 2 ]] && { firing=1; break; }
    sleep 0.1
done
[[ $firing == 1 ]] || fail "the test alerts did not fire within 30 s"

if [[ -n "${DETEK_TESTENV_WATCH_PID:-}" && ! -f "$DIR/watchdog.pid" ]]; then
    # shellcheck disable=SC2016 # expanded by the inner bash
    setsid bash -c '
        while kill -0 "$1" 2>/dev/null && [[ -f "$2/pids" ]]; do sleep 1; done
        [[ -f "$2/pids" ]] && exec "$3" "$2" --purge
    ' detek-testenv-prometheus-watchdog "$DETEK_TESTENV_WATCH_PID" "$DIR" "$HERE/stop.sh" \
        </dev/null >/dev/null 2>&1 &
    echo $! >"$DIR/watchdog.pid"
fi

umask 077
cat >"$DIR/env.tmp" <<ENV
PROMETHEUS_URL=$URL
PROMETHEUS_USER=detek
PROMETHEUS_PASSWORD=$PASSWORD
PROMETHEUS_EXPORTER=127.0.0.1:$EXPORTER_PORT
PROMETHEUS_NODE_EXPORTER=127.0.0.1:$NODE_PORT
PROMETHEUS_DEAD_LONG=127.0.0.1:$DEAD_LONG_PORT
PROMETHEUS_DEAD_NEW=127.0.0.1:$DEAD_NEW_PORT
PROMETHEUS_T0=$T0
ENV
mv "$DIR/env.tmp" "$DIR/env"
log "Prometheus $(prometheus --version 2>&1 | awk 'NR==1{print $3}') ready on $URL with $(( $(date +%s) - T0 )) s of start-up ($DIR)"
