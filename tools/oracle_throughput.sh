#!/usr/bin/env bash
# oracle_throughput.sh [SECONDS]: what the architectural oracle costs against
# the strict one, on the same corpus, in one run. Fuzzes SECONDS (default 60)
# from the binary seeds with build/sanitized/bin/mmu_diff_fuzzer (the built-in
# shadow MMU, strict oracle) to grow a corpus, then replays that corpus with
# the optimized build/bin/shadowdiff under each oracle, ten times each
# (interleaved, after one warm-up replay of each), and prints cases per second
# and the ratio. The TLB-oracle issue's goal is a
# ratio of at least 0.70.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tools/binary_seeds.sh build/bin/shadowdiff "$tmp/seeds" > /dev/null || exit 1
mkdir -p "$tmp/corpus"
# shellcheck disable=SC2046
build/sanitized/bin/mmu_diff_fuzzer $(tools/libfuzzer_options.sh build/bin) \
  -max_total_time="$seconds" -seed=1 "$tmp/corpus" "$tmp/seeds" > /dev/null 2>&1
cases=$(find "$tmp/corpus" -type f | wc -l)

# Seconds one replay of the corpus takes under ORACLE.
replay_seconds() {
  local start end
  start=$(date +%s.%N)
  build/bin/shadowdiff replay --oracle="$1" "$tmp/corpus" > /dev/null 2>&1
  [ $? -le 1 ] || { echo "replay under $1 failed" >&2; exit 1; }
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.6f\n", e - s }'
}
# One replay of each first, so that both find the corpus in the page cache;
# then ten of each, interleaved, so that both see the same machine.
replay_seconds strict > /dev/null
replay_seconds architectural > /dev/null
strict_total=0
architectural_total=0
for _ in 1 2 3 4 5 6 7 8 9 10; do
  strict_total=$(awk -v a="$strict_total" -v b="$(replay_seconds strict)" 'BEGIN { print a + b }')
  architectural_total=$(awk -v a="$architectural_total" -v b="$(replay_seconds architectural)" 'BEGIN { print a + b }')
done
strict=$(awk -v n="$cases" -v t="$strict_total" 'BEGIN { printf "%.0f", 10 * n / t }')
architectural=$(awk -v n="$cases" -v t="$architectural_total" 'BEGIN { printf "%.0f", 10 * n / t }')
echo "corpus: $cases cases from $seconds s of fuzzing (shadow MMU, strict oracle)"
echo "strict oracle:        $strict cases/s"
echo "architectural oracle: $architectural cases/s"
awk -v a="$architectural" -v b="$strict" 'BEGIN {
  if (b == 0) { print "no rate for the strict oracle"; exit 1 }
  printf "ratio architectural / strict: %.2f (goal: at least 0.70)\n", a / b }'
