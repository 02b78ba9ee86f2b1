#!/usr/bin/env bash
# Time and memory of `detek run` evaluating the metric detectors against the test Prometheus
# (testenv/prometheus) holding about 10,000 series per detector: the exporter adds
# DETEK_BENCH_PODS synthetic Pods (memory, CPU and CFS series each, 5 replicas per
# StatefulSet) and one filesystem per 10 Pods.
#
#   bash bench/prometheus-detectors.sh [PODS] [DETEK_BINARY]     (default 10000, target/debug/detek)
set -euo pipefail
cd "$(dirname "$0")/.."
PODS="${1:-10000}"
DETEK="${2:-target/debug/detek}"
dir="$(mktemp -d)"
trap 'bash testenv/prometheus/stop.sh "$dir/env" --purge' EXIT
DETEK_BENCH_PODS="$PODS" DETEK_PROMETHEUS_SCRAPE_INTERVAL=10s bash testenv/prometheus/start.sh "$dir/env"
# shellcheck disable=SC1091
source "$dir/env/env"
echo "waiting 35 s for a few scrapes of $PODS Pods" >&2
sleep 35
printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: bench}\n' >"$dir/ns.yaml"
for run in 1 2 3; do
    DETEK_PROMETHEUS_PASSWORD="$PROMETHEUS_PASSWORD" /usr/bin/time -f "%e s wall, %M KiB max RSS" \
        "$DETEK" run --input "$dir/ns.yaml" --select metrics -f json -o "$dir/report.json" \
        --prometheus-url "$PROMETHEUS_URL" --prometheus-user detek --allow-partial --fail-on never 2>"$dir/time.txt" || true
    tail -n 1 "$dir/time.txt"
done
python3 - "$dir/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for c in r["collectors"]:
    if c["id"].startswith("prometheus"):
        print(f'collector {c["id"]}: {c["duration_ms"]:.0f} ms, {c["stats"].get("prometheus_series", 0)} series, {c["stats"].get("prometheus_queries", 0)} queries')
for rep in r["reports"]:
    print(f'  {rep["id"]:<26} {rep["result"]:<12} evaluated {rep.get("evaluated")}, {len(rep["findings"])} findings, {rep["duration_ms"]:.1f} ms')
PY
