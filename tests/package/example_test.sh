#!/usr/bin/env bash
# example_test.sh SANITIZED_TREE SOURCE_DIR: installs shadowdiff from the
# sanitized tree into a temporary prefix, builds examples/simple_mmu against
# the installed package as a team would (find_package, shadowdiff_add_fuzzer),
# then checks its shadowdiff command and fuzzer: the seeds replay clean, a
# short fuzzing run without the planted bug reports nothing, and with the
# planted bug's switch the fuzzer finds a divergence within 60 s.
set -uo pipefail
[ $# -eq 2 ] || { echo "usage: $0 SANITIZED_TREE SOURCE_DIR" >&2; exit 2; }
tree=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cmake --install "$tree" --prefix "$tmp/prefix" > "$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; fail "cmake --install"; }
[ -f "$tmp/prefix/include/shadowdiff/mmu.h" ] || fail "no include/shadowdiff/mmu.h installed"
[ -f "$tmp/prefix/lib/cmake/shadowdiff/shadowdiffConfig.cmake" ] ||
  fail "no shadowdiffConfig.cmake installed"

cmake -S "$src/examples/simple_mmu" -B "$tmp/build" -G Ninja \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  > "$tmp/configure.log" 2>&1 || { cat "$tmp/configure.log"; fail "configure the example"; }
cmake --build "$tmp/build" > "$tmp/build.log" 2>&1 ||
  { tail -40 "$tmp/build.log"; fail "build the example"; }
fuzzer=$tmp/build/simple_mmu_fuzzer
tool=$tmp/build/simple_mmu_fuzzer-shadowdiff
[ -x "$fuzzer" ] && [ -x "$tool" ] || fail "the example's fuzzer and command were not built"
[ -f "$fuzzer.options" ] && [ -f "$fuzzer.dict" ] || fail "no options file or dictionary beside the fuzzer"

"$tool" mmus | grep -q '^simple:' || fail "the command does not list the simple MMU"
out=$("$tool" replay --mmu=simple "$src/corpus/seeds" 2>&1)
[ $? -eq 0 ] || { echo "$out" | tail -40; fail "the seeds do not replay clean on simple"; }
echo "$out" | tail -1

seeds=$tmp/seeds
"$src/tools/binary_seeds.sh" "$tool" "$seeds" > /dev/null || fail "binary seeds"

# Without the planted bug: nothing (the options file beside the fuzzer gives
# max_len and the dictionary).
mkdir -p "$tmp/clean"
SHADOWDIFF_MMU=simple "$fuzzer" -max_total_time=20 -artifact_prefix="$tmp/" \
  "$tmp/clean" "$seeds" > "$tmp/clean.log" 2>&1 ||
  { tail -60 "$tmp/clean.log"; fail "fuzzing simple without the planted bug reported something"; }
grep -q "max_len is not provided" "$tmp/clean.log" &&
  fail "the fuzzer did not take max_len from its options file"

mkdir -p "$tmp/planted"
start=$(date +%s)
SHADOWDIFF_MMU=simple:no-flush-on-zap "$fuzzer" -max_total_time=60 -artifact_prefix="$tmp/" \
  "$tmp/planted" "$seeds" > "$tmp/planted.log" 2>&1
status=$?
[ $status -ne 0 ] && grep -q "DIVERGENCE" "$tmp/planted.log" ||
  { tail -30 "$tmp/planted.log"; fail "the planted bug was not found within 60 s"; }
grep -m1 "MMU under test" "$tmp/planted.log"
echo "planted bug found after $(( $(date +%s) - start )) s"
crash=$(ls "$tmp"/crash-* | head -1)
SHADOWDIFF_MMU=simple:no-flush-on-zap "$tool" replay "$crash" > /dev/null 2>&1
[ $? -eq 1 ] || fail "the crash file does not replay as a divergence"
echo "1 passed, 0 failed"
