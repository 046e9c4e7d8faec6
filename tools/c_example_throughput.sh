#!/usr/bin/env bash
# c_example_throughput.sh [SECONDS]: the fuzzing rate of an MMU plugged in
# from outside against the built-in one, in one run: builds
# examples/simple_mmu against the package installed from build/sanitized
# (tools/build_example.sh), then fuzzes SECONDS (default 60) from the binary
# seeds with one ASan+UBSan worker each, the built-in shadow MMU
# (build/sanitized/bin/mmu_diff_fuzzer) and the example (SHADOWDIFF_MMU=simple),
# same libFuzzer seed, one after the other, and prints both rates and the
# ratio. The plugging-in issue's goal is a ratio of at least 0.5.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tools/build_example.sh build/sanitized . "$tmp" || exit 1
tools/binary_seeds.sh build/bin/shadowdiff "$tmp/seeds" > /dev/null || exit 1

# Prints the executions per second of one run: FUZZER [ENV=VALUE...].
rate() {
  local fuzzer=$1
  shift
  local corpus
  corpus=$(mktemp -d -p "$tmp")
  env "$@" "$fuzzer" -max_total_time="$seconds" -seed=1 -print_final_stats=1 \
    "$corpus" "$tmp/seeds" 2>&1 |
    awk '/stat::number_of_executed_units:/ { runs = $2 }
         /^Done [0-9]+ runs in/ { secs = $5 }
         END { if (secs > 0) printf "%.0f %d %d\n", runs / secs, runs, secs; else print "0 0 0" }'
}
read -r builtin builtin_runs builtin_secs < <(rate build/sanitized/bin/mmu_diff_fuzzer)
read -r example example_runs example_secs < <(rate "$tmp/build/simple_mmu_fuzzer" SHADOWDIFF_MMU=simple)
echo "built-in shadow MMU:        $builtin exec/s ($builtin_runs runs in $builtin_secs s)"
echo "examples/simple_mmu (C):    $example exec/s ($example_runs runs in $example_secs s)"
awk -v a="$example" -v b="$builtin" 'BEGIN {
  if (b == 0) { print "no rate for the built-in MMU"; exit 1 }
  printf "ratio example / built-in: %.2f (goal: at least 0.50)\n", a / b }'
