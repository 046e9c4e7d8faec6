#!/usr/bin/env bash
# make fuzz ENGINE=afl: AFL++ fuzzes for FUZZ_SECONDS the target make fuzz
# runs, built in build/afl with afl-clang-fast++ (ASan, UBSan) and AFL++'s
# libFuzzer-compatible driver, from the seeds as binary cases and with the
# same dictionary. Prints AFL++'s execs; each crash it saves is copied to
# findings/ with its report, and the exit status is then 1.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
bin=build/afl/bin
out=build/afl/out
seeds=build/afl/seeds
rm -rf "$out" "$seeds"
mkdir -p "$seeds" findings
tools/binary_seeds.sh "$bin/shadowdiff" "$seeds" || exit 2

# This machine has no CPU frequency governor to check and a core pattern
# that AFL++ may not change, nobody watches the status screen, and its two
# cores are shared, so afl-fuzz must not pin itself to one.
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 \
  AFL_NO_AFFINITY=1
[ -n "${SHADOWDIFF_INJECT:-}" ] && echo "fuzzing with SHADOWDIFF_INJECT=$SHADOWDIFF_INJECT"
echo "AFL++: fuzzing $seeds for ${seconds}s"
# -t: the 10 s timeout of mmu_diff_fuzzer.options; -m none: ASan reserves
# far more virtual memory than any limit afl-fuzz would set.
afl-fuzz -V "$seconds" -i "$seeds" -o "$out" -x "$bin/mmu_diff_fuzzer.dict" \
  -t 10000 -m none -- "$bin/mmu_diff_fuzzer" 2>&1 | tee findings/afl-last-run.log
status=${PIPESTATUS[0]}
stats=$out/default/fuzzer_stats
if [ "$status" -ne 0 ] || [ ! -f "$stats" ]; then
  echo "afl-fuzz failed (exit $status)" >&2
  exit 2
fi

echo
echo "== AFL++ =="
grep -E '^(run_time|execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs) ' "$stats"
crashes=0
for crash in "$out"/default/crashes/id:*; do
  [ -f "$crash" ] || continue
  crashes=$((crashes + 1))
  dest=findings/afl-crash-$(date +%s)-$crashes
  cp "$crash" "$dest"
  inject=()
  [ -n "${SHADOWDIFF_INJECT:-}" ] && inject=(--inject="$SHADOWDIFF_INJECT")
  "$bin/shadowdiff" replay "${inject[@]}" "$dest" > "$dest.report.txt" 2>&1
  echo "divergence: $dest (report: $dest.report.txt)"
done
[ "$crashes" -eq 0 ] || exit 1
echo "no divergence"
