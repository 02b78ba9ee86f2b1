#!/usr/bin/env bash
# Run the fuzz targets: fuzz/run.sh [-t SECONDS] [TARGET...]   (default: every target, 60 s each)
#
# FUZZ_FLAGS: cargo-fuzz build flags, default `-O -a` (optimised, debug assertions, address
# sanitizer); CI's smoke run uses `--dev -s none` (quicker to build). FUZZ_TARGET_DIR: where
# the build goes (default fuzz/target).
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`). Seeds each
# target's corpus (fuzz/corpus/<target>, not committed) from seeds.txt, then runs it under
# `nice` with per-input time (10 s) and memory (2 GiB) limits; a crash, timeout or out-of-memory
# input lands in fuzz/artifacts/<target>/ and makes this script fail. The last lines of each run
# (executions, coverage) are kept in fuzz/artifacts/logs/<target>.log.
set -euo pipefail
cd "$(dirname "$0")"
seconds=60
if [ "${1:-}" = "-t" ]; then seconds=$2; shift 2; fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
shopt -s globstar nullglob
logs=artifacts/logs
mkdir -p "$logs"
read -r -a flags <<< "${FUZZ_FLAGS:--O -a}"
target_dir=()
if [ -n "${FUZZ_TARGET_DIR:-}" ]; then target_dir=(--target-dir "$FUZZ_TARGET_DIR"); fi
cargo +nightly fuzz build "${flags[@]}" ${target_dir[@]+"${target_dir[@]}"}
status=0
for target in "${targets[@]}"; do
  corpus=corpus/$target
  mkdir -p "$corpus"
  line=$(grep -E "^$target( |$)" seeds.txt || true)
  read -r -a patterns <<< "${line#"$target"}"
  for pattern in ${patterns[@]+"${patterns[@]}"}; do
    for f in ../$pattern; do
      [ -f "$f" ] && cp "$f" "$corpus/seed-$(echo "$f" | md5sum | cut -c1-12)"
    done
  done
  for f in seeds/"$target"/*; do cp "$f" "$corpus/seed-$(basename "$f")"; done
  echo "== $target: $seconds s, $(ls "$corpus" | wc -l) inputs in the corpus"
  if ! nice -n 10 cargo +nightly fuzz run "${flags[@]}" ${target_dir[@]+"${target_dir[@]}"} "$target" "$corpus" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=1 > "$logs/$target.log" 2>&1; then
    echo "!! $target failed: see fuzz/$logs/$target.log and fuzz/artifacts/$target/"
    status=1
  fi
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs)|^#[0-9]+ +DONE" "$logs/$target.log" || true
done
exit $status
