#!/usr/bin/env bash
# make fuzz: fuzzes corpus/seeds plus the working corpus fuzz-corpus/ (kept
# between runs) for FUZZ_SECONDS on JOBS workers, with the libFuzzer options
# ClusterFuzzLite uses (.clusterfuzzlite/mmu_diff_fuzzer.options: dictionary,
# max_len, timeout). On a divergence it leaves in findings/ the crash input,
# its reduced text proto and the report, and exits 1.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
jobs=${JOBS:-$(nproc)}
fuzzer=build/bin/mmu_diff_fuzzer
shadowdiff=build/bin/shadowdiff
work=fuzz-corpus
seeds=build/seeds-binary
mkdir -p "$work" findings

tools/binary_seeds.sh "$shadowdiff" "$seeds" || exit 2
mapfile -t options < <(tools/libfuzzer_options.sh "$(dirname "$fuzzer")")
[ "${#options[@]}" -gt 0 ] || exit 2
args=(-max_total_time="$seconds" -print_final_stats=1 "${options[@]}"
      -artifact_prefix=findings/)
[ "$jobs" -gt 1 ] && args+=(-fork="$jobs")
[ -n "${SHADOWDIFF_INJECT:-}" ] && echo "fuzzing with SHADOWDIFF_INJECT=$SHADOWDIFF_INJECT"
echo "fuzzing corpus/seeds + $work for ${seconds}s on $jobs worker(s)"
before=$(ls findings/crash-* 2>/dev/null | wc -l)
"$fuzzer" "${args[@]}" "$work" "$seeds" 2>&1 | tee findings/last-run.log
status=${PIPESTATUS[0]}

echo
echo "== what the corpus reaches =="
"$shadowdiff" coverage "$work" corpus/seeds

crashes=$(ls -t findings/crash-* 2>/dev/null | grep -v '\.' || true)
if [ "$(ls findings/crash-* 2>/dev/null | wc -l)" -gt "$before" ] || [ "$status" -ne 0 ]; then
  for crash in $crashes; do
    [ -f "$crash.report.txt" ] && continue
    inject=()
    [ -n "${SHADOWDIFF_INJECT:-}" ] && inject=(--inject="$SHADOWDIFF_INJECT")
    "$shadowdiff" replay "${inject[@]}" "$crash" > "$crash.report.txt" 2>&1
    "$shadowdiff" reduce "${inject[@]}" "$crash" -o "$crash.reduced.textproto" \
      > "$crash.reduce.txt" 2>&1
    echo "divergence: $crash (report: $crash.report.txt, reduced: $crash.reduced.textproto)"
  done
  exit 1
fi
echo "no divergence"
