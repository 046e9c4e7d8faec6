#!/usr/bin/env bash
# make fuzz: fuzzes corpus/seeds plus the working corpus fuzz-corpus/ (kept
# between runs) for FUZZ_SECONDS on JOBS workers. On a divergence it leaves in
# findings/ the crash input, its reduced text proto and the report, and exits 1.
# Cases are kept to MAX_LEN bytes of binary case (libFuzzer -max_len): small
# cases run fast, and every bug of the zoo needs fewer than ten ops.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
jobs=${JOBS:-$(nproc)}
fuzzer=build/bin/mmu_diff_fuzzer
shadowdiff=build/bin/shadowdiff
max_len=${MAX_LEN:-512}
work=fuzz-corpus
seeds=build/seeds-binary
mkdir -p "$work" findings

# The reviewed seeds as binary cases: as text they are larger than MAX_LEN
# and libFuzzer would cut them short.
rm -rf "$seeds" && mkdir -p "$seeds"
for seed in corpus/seeds/*.textproto; do
  "$shadowdiff" convert "$seed" "$seeds/$(basename "$seed" .textproto).pb" || exit 2
done

args=(-max_total_time="$seconds" -max_len="$max_len" -print_final_stats=1 -timeout=10
      -rss_limit_mb=4096 -artifact_prefix=findings/)
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
