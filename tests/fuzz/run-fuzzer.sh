#!/usr/bin/env bash
# Runs one AFL++ fuzzer for a bounded time, for CTest:
#   run-fuzzer.sh AFL_FUZZ FUZZER SEED_FOLDER OUTPUT_FOLDER SECONDS [DICTIONARY]
# Starts from the seed corpus in a fresh output folder; fails if AFL++ cannot run or saves any
# crash or hang, printing each input's path and bytes (hex). Prints AFL++'s statistics.
set -euo pipefail
afl_fuzz=$1 fuzzer=$2 seeds=$3 out=$4 seconds=$5 dict=${6:-}

rm -rf "$out"
mkdir -p "$out"

# Unattended: no UI, no core_pattern or CPU governor changes, no core pinning (CTest runs the
# fuzzers side by side), a generous start-up time on a loaded machine.
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1
export AFL_NO_CRASH_README=1 AFL_FORKSRV_INIT_TMOUT=30000 AFL_QUIET=1
# Sanitizer findings must abort (that is how AFL++ sees them); leaks are not checked while
# fuzzing (the driver runs many inputs per process); the regression replay is built plainly.
export ASAN_OPTIONS=abort_on_error=1:symbolize=0:detect_leaks=0:allocator_may_return_null=1
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:symbolize=0

args=(-i "$seeds" -o "$out" -V "$seconds" -t 2000)
[ -n "$dict" ] && args+=(-x "$dict")
status=0
"$afl_fuzz" "${args[@]}" -- "$fuzzer" >"$out/afl-fuzz.log" 2>&1 || status=$?
if [ "$status" -ne 0 ] || [ ! -f "$out/default/fuzzer_stats" ]; then
  echo "afl-fuzz failed (exit $status); the end of its log:"
  tail -n 30 "$out/afl-fuzz.log"
  exit 1
fi

echo "$(basename "$fuzzer"), ${seconds} s from $(find "$seeds" -type f | wc -l) seeds:"
grep -E '^(execs_done|execs_per_sec|corpus_count|corpus_found|edges_found|bitmap_cvg|saved_crashes|saved_hangs|last_find) ' \
  "$out/default/fuzzer_stats" | sed 's/^/  /'

found=0
for kind in crashes hangs; do
  for input in "$out/default/$kind"/id:*; do
    [ -f "$input" ] || continue
    found=$((found + 1))
    echo "${kind%es}: $input ($(stat -c %s "$input") bytes)"
    od -An -tx1 -v "$input" | head -n 64
  done
done
if [ "$found" -ne 0 ]; then
  echo "$found input(s) crashed or hung; replay one with: $fuzzer INPUT (or the ${fuzzer%_fuzzer}_fuzz_replay"
  echo "program), and keep it under tests/fuzz/crashes/ once fixed"
  exit 1
fi
