#!/usr/bin/env bash
# CI performance guard (issue 11): times `detek run all` on a small generated set (bench/gen_large.py,
# 1,000 documents) and fails only on a gross regression: more than 3x the committed baseline
# (bench/baseline.json). The figure compared is CPU seconds (user + sys) divided by the CPU seconds
# of a fixed calibration loop timed in the same job, so a slower or busier CI machine moves both
# and does not fail the build; medians of 3 runs each. Uses the debug binary the tests built
# (target/debug/detek), so it adds no build; takes ~10-20 s.
#
#   bench/ci-check.sh                    # check against bench/baseline.json
#   bench/ci-check.sh --write-baseline   # measure and write bench/baseline.json (commit it)
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${CARGO_TARGET_DIR:-target}
BIN=${DETEK_BIN:-$TARGET/debug/detek}
[[ -x $BIN ]] || cargo build -q -p detek
BASELINE=bench/baseline.json
DOCS=1000
LIMIT=3
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
python3 bench/gen_large.py $((DOCS / 2)) "$WORK/in.yaml"

# CPU seconds (user + sys) of one run of a command, from /usr/bin/time.
cpu() {
  /usr/bin/time -o "$WORK/t" -f '%U %S' "$@" > /dev/null 2>&1 || true
  awk 'END { print $1 + $2 }' "$WORK/t"
}
median3() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
# The calibration: a fixed single-threaded loop of integer arithmetic and allocation (~0.5 s).
calib() { cpu python3 -c 'd = {}
for i in range(1_500_000): d[i % 5000] = str(i * 7)'; }

c=(); d=()
for _ in 1 2 3; do
  c+=("$(calib)")
  d+=("$(cpu "$BIN" run all -f json -o "$WORK/out.json" --fail-on never --input "$WORK/in.yaml")")
done
calib_s=$(median3 "${c[@]}"); detek_s=$(median3 "${d[@]}")
python3 - "$BASELINE" "$calib_s" "$detek_s" "$DOCS" "$LIMIT" "${1:-}" "$WORK/out.json" <<'PY'
import json, sys
path, calib, detek, docs, limit, mode, out = sys.argv[1:8]
calib, detek, limit = float(calib), float(detek), float(limit)
findings = json.load(open(out))["summary"]["findings"]
ratio = detek / calib
print(f"detek run all, {docs} documents (debug build): {detek:.2f} s CPU, {findings} findings; "
      f"calibration loop {calib:.2f} s CPU; normalised {ratio:.2f}")
if mode == "--write-baseline":
    json.dump({"documents": int(docs), "build": "debug", "normalised_cpu": round(ratio, 3),
               "detek_cpu_s": detek, "calibration_cpu_s": calib, "findings": findings},
              open(path, "w"), indent=2)
    open(path, "a").write("\n")
    print(f"wrote {path}")
    raise SystemExit
base = json.load(open(path))["normalised_cpu"]
print(f"baseline {base:.2f} ({path}); {ratio / base:.2f}x of it, limit {limit:g}x")
if ratio > limit * base:
    raise SystemExit(f"performance regression: {ratio / base:.1f}x the baseline CPU (limit {limit:g}x)")
PY
