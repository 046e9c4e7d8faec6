#!/usr/bin/env bash
# example_test.sh SANITIZED_TREE SOURCE_DIR: installs shadowdiff from the
# sanitized tree into a temporary prefix, builds examples/simple_mmu against
# the installed package as a team would (tools/build_example.sh), then checks
# its shadowdiff command and fuzzer: the seeds replay clean, a short fuzzing
# run without the planted bug reports nothing, and with the planted bug's
# switch the fuzzer finds it within 60 s from the seeds that do not already
# catch it (as make zoo leaves those out).
set -uo pipefail
[ $# -eq 2 ] || { echo "usage: $0 SANITIZED_TREE SOURCE_DIR" >&2; exit 2; }
tree=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; echo "0 passed, 1 failed"; exit 1; }
planted=simple:no-flush-on-zap

"$src/tools/build_example.sh" "$tree" "$src" "$tmp" || fail "install and build the example"
[ -f "$tmp/prefix/include/shadowdiff/mmu.h" ] || fail "no include/shadowdiff/mmu.h installed"
[ -f "$tmp/prefix/lib/cmake/shadowdiff/shadowdiffConfig.cmake" ] ||
  fail "no shadowdiffConfig.cmake installed"
fuzzer=$tmp/build/simple_mmu_fuzzer
tool=$tmp/build/simple_mmu_fuzzer-shadowdiff
[ -x "$fuzzer" ] && [ -x "$tool" ] || fail "the example's fuzzer and command were not built"
[ -f "$fuzzer.options" ] && [ -f "$fuzzer.dict" ] || fail "no options file or dictionary beside the fuzzer"

"$tool" mmus | grep -q '^simple:' || fail "the command does not list the simple MMU"
out=$("$tool" replay --mmu=simple "$src/corpus/seeds" 2>&1)
[ $? -eq 0 ] || { echo "$out" | tail -40; fail "the seeds do not replay clean on simple"; }
echo "$out" | tail -1

# The seeds as binary cases, and those of them that agree with the planted
# bug switched on.
all=$tmp/seeds
"$src/tools/binary_seeds.sh" "$tool" "$all" > /dev/null || fail "binary seeds"
clean=$tmp/clean-seeds
mkdir -p "$clean"
for seed in "$all"/*.pb; do
  "$tool" replay --mmu="$planted" "$seed" > /dev/null 2>&1 && cp "$seed" "$clean/"
done
n=$(ls "$clean" | wc -l)
[ "$n" -gt 0 ] || fail "every seed catches the planted bug: nothing left to fuzz from"
echo "$n seeds do not catch the planted bug"

# Without the planted bug: nothing (the options file beside the fuzzer gives
# max_len and the dictionary).
mkdir -p "$tmp/corpus-clean"
SHADOWDIFF_MMU=simple "$fuzzer" -max_total_time=20 -artifact_prefix="$tmp/" \
  "$tmp/corpus-clean" "$all" > "$tmp/clean.log" 2>&1 ||
  { tail -60 "$tmp/clean.log"; fail "fuzzing simple without the planted bug reported something"; }
grep -q "max_len is not provided" "$tmp/clean.log" &&
  fail "the fuzzer did not take max_len from its options file"
grep -E "^Done" "$tmp/clean.log"

mkdir -p "$tmp/corpus-planted"
start=$(date +%s)
SHADOWDIFF_MMU=$planted "$fuzzer" -max_total_time=60 -artifact_prefix="$tmp/" \
  "$tmp/corpus-planted" "$clean" > "$tmp/planted.log" 2>&1
status=$?
[ $status -ne 0 ] && grep -q "DIVERGENCE" "$tmp/planted.log" ||
  { tail -30 "$tmp/planted.log"; fail "the planted bug was not found within 60 s"; }
grep -m1 "MMU under test" "$tmp/planted.log"
grep -m1 -E "^#[0-9]+" "$tmp/planted.log" | tail -1
echo "planted bug found after $(( $(date +%s) - start )) s"
crash=$(ls "$tmp"/crash-* | head -1)
SHADOWDIFF_MMU=$planted "$tool" replay "$crash" > /dev/null 2>&1
[ $? -eq 1 ] || fail "the crash file does not replay as a divergence"
echo "1 passed, 0 failed"
