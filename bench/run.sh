#!/usr/bin/env bash
# Benchmark harness: generates large synthetic snapshots and times `detek run` on them
# (release build), reporting wall time and peak memory (max RSS).
#
#   bench/run.sh            # (a) 2,000 Deployments + 2,000 Services, (b) ~100k objects
#   RUNS=10 bench/run.sh    # more repetitions
#
# Pod IPs are unique per node (the generator mirrors a real IPAM).
# Targets (issue 2): (a) <= 0.5 s and <= 100 MB, (b) <= 3 s.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
WORK=${BENCH_DIR:-target/bench}
mkdir -p "$WORK"

cargo build --release -q -p detek
cargo build --release -q -p detek-kubernetes --example gen_snapshot
TARGET=${CARGO_TARGET_DIR:-target}
BIN=$TARGET/release/detek
GEN=$TARGET/release/examples/gen_snapshot

[ -f "$WORK/a-manifests.yaml" ] || "$GEN" manifests 2000 > "$WORK/a-manifests.yaml"
[ -f "$WORK/b-cluster.json" ] || "$GEN" cluster 100000 > "$WORK/b-cluster.json"

measure() {
  local name=$1; shift
  local best=999999 rss=0 timing="$WORK/time.out"
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -o "$timing" -f "%e %M" "$@" -f json -o /dev/null --fail-on never >/dev/null 2>&1 || true
    local t m
    read -r t m < "$timing"
    best=$(python3 -c "print(min($best, $t))")
    [ "$m" -gt "$rss" ] && rss=$m
  done
  printf '%-48s best of %s: %6.3f s   peak RSS: %6.1f MB\n' "$name" "$RUNS" "$best" "$(python3 -c "print($rss/1024)")"
}

echo "files: $(du -h "$WORK/a-manifests.yaml" | cut -f1) a-manifests.yaml, $(du -h "$WORK/b-cluster.json" | cut -f1) b-cluster.json"
measure "(a) 2,000 Deployments + 2,000 Services (YAML)" "$BIN" run --input "$WORK/a-manifests.yaml"
measure "(b) ~100k objects with status (JSON List)" "$BIN" run --input "$WORK/b-cluster.json"
measure "demo snapshot (embedded)" "$BIN" run --demo
