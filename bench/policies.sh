#!/usr/bin/env bash
# Rego detectors at scale (issue 17, docs/policies.md): 50 policies over a 10,000-object
# snapshot, and one check as a built-in detector vs as a policy.
#
#   bench/policies.sh            # RUNS=5 by default
#
# The snapshot is `gen_snapshot cluster 10000` (80% Pods, Services, Endpoints, Nodes; some
# Pods crash-looping, OOMKilled or pending). The 50 policies are the ten of bench/policies/,
# five copies each under other ids (every copy is compiled, evaluated and reported on its own).
# Printed: wall time and peak RSS of `detek run` on the snapshot with one built-in detector
# (ingestion and the report: the floor), with the 50 policies, and with both checks of
# "latest image tag"; then the per-detector durations of the JSON report.
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
SNAP=$WORK/c-cluster-10k.json
[ -f "$SNAP" ] || "$GEN" cluster 10000 > "$SNAP"

POLICIES=$WORK/policies-50
rm -rf "$POLICIES"; mkdir -p "$POLICIES"
for template in bench/policies/*.rego; do
  id=$(basename "$template" .rego)
  for k in 1 2 3 4 5; do
    sed "s/\\b$id\\b/${id}_$k/g" "$template" > "$POLICIES/${id}_$k.rego"
  done
done

measure() {
  local name=$1; shift
  local timing="$WORK/time.out" times=() rss=0
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -o "$timing" -f "%e %M" "$@" -f json -o /dev/null --fail-on never --allow-partial >/dev/null 2>&1 || true
    local t m
    read -r t m < "$timing"
    times+=("$t")
    [ "$m" -gt "$rss" ] && rss=$m
  done
  printf '%-52s median of %s: %6.3f s   peak RSS: %6.1f MB\n' "$name" "$RUNS" \
    "$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')" \
    "$(python3 -c "print($rss/1024)")"
}

echo "snapshot: $(python3 -c "import json;print(len(json.load(open('$SNAP'))['items']))") objects, $(du -h "$SNAP" | cut -f1)"
measure "1 built-in (image_tag_latest)" "$BIN" run --input "$SNAP" --select image_tag_latest
measure "50 policies" "$BIN" run --input "$SNAP" --policy-dir "$POLICIES" --select policy
measure "built-in + the same check as a policy" "$BIN" run --input "$SNAP" --policy-dir "$POLICIES" \
  --select image_tag_latest,pod_image_latest_1

"$BIN" run --input "$SNAP" --policy-dir "$POLICIES" --select policy,image_tag_latest \
  -f json -o "$WORK/policies-50.json" --fail-on never --allow-partial 2>/dev/null || true
python3 - "$WORK/policies-50.json" <<'PY'
import json, sys
reports = json.load(open(sys.argv[1]))["reports"]
policies = [r for r in reports if "policy" in r["labels"]]
unknown = [r["id"] for r in policies if r["level"] == "Unknown"]
durations = sorted(r["duration_ms"] for r in policies)
by_id = {r["id"]: r for r in reports}
print(f"{len(policies)} policies: {len(unknown)} Unknown {unknown if unknown else ''}")
print(f"policy durations (ms, each including its wait for the shared input): "
      f"min {durations[0]:.1f}, median {durations[len(durations)//2]:.1f}, max {durations[-1]:.1f}, "
      f"sum {sum(durations):.1f}")
for rid in ("image_tag_latest", "pod_image_latest_1"):
    r = by_id[rid]
    print(f"{rid:<22} {r['duration_ms']:8.1f} ms  {len(r['findings'])} findings  {r.get('evaluated')} evaluated")
PY
