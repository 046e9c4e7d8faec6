#!/usr/bin/env bash
# build_sh_test.sh SOURCE_DIR CXX SHADOWDIFF: runs .clusterfuzzlite/build.sh
# the way ClusterFuzzLite's ASan build does, without Docker (the variables the
# image sets are set here by hand), checks what it leaves in $OUT, and runs
# the fuzzer with its options once over every case of the seed corpus.
set -uo pipefail
src=$1 cxx=$2 shadowdiff=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
  echo "FAIL: $*"
  exit 1
}

out=$tmp/out
mkdir -p "$out" "$tmp/work"
flags="-O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address"
flags+=" -fsanitize-address-use-after-scope -fsanitize=fuzzer-no-link"
start=$SECONDS
# The image's CXXFLAGS ask for libc++, which build.sh must drop (libc++ is
# not even installed here). Two jobs: the other tests, which ctest runs beside
# this one, are done within its first minute.
(cd "$src" && CC=clang-14 CXX=$cxx CFLAGS=$flags CXXFLAGS="$flags -stdlib=libc++" \
  LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT=$out WORK=$tmp/work \
  CMAKE_BUILD_PARALLEL_LEVEL=2 .clusterfuzzlite/build.sh) > "$tmp/build.log" 2>&1 ||
  { tail -n 40 "$tmp/build.log"; fail "build.sh failed"; }
echo "build.sh took $((SECONDS - start)) s"

for f in mmu_diff_fuzzer mmu_diff_fuzzer_seed_corpus.zip mmu_diff_fuzzer.dict \
         mmu_diff_fuzzer.options; do
  [ -s "$out/$f" ] || fail "\$OUT has no $f"
done
[ -x "$out/mmu_diff_fuzzer" ] || fail "\$OUT/mmu_diff_fuzzer is not executable"

# The runner image has none of the build packages: the fuzzer must load
# Abseil and protobuf from $OUT/lib.
libs=$(ldd "$out/mmu_diff_fuzzer" | grep -E 'libabsl_|libprotobuf')
[ -n "$libs" ] || fail "ldd lists no Abseil or protobuf library"
outside=$(printf '%s\n' "$libs" | grep -v " => $out/lib/")
[ -z "$outside" ] || fail "libraries loaded from outside \$OUT/lib: $outside"

# As many binary cases as there are text seeds, each one agreeing.
unzip -q "$out/mmu_diff_fuzzer_seed_corpus.zip" -d "$tmp/corpus" || fail "bad zip"
seeds=$(ls "$src"/corpus/seeds/*.textproto | wc -l)
cases=$(ls "$tmp/corpus" | wc -l)
[ "$cases" -eq "$seeds" ] || fail "the seed corpus has $cases cases, corpus/seeds $seeds"
grep -lq "setup" "$tmp/corpus"/* && fail "the seed corpus holds text cases"
"$shadowdiff" replay "$tmp/corpus" | grep -q "ran $seeds cases: $seeds agree, 0 diverge" ||
  fail "the seed corpus does not replay as $seeds agreeing binary cases"

# The [libfuzzer] options as ClusterFuzzLite passes them, from $OUT.
mapfile -t options < <(sed -n '/^\[libfuzzer\]/,/^\[/s/^\([a-z_]*\) *= *\(.*\)$/-\1=\2/p' \
  "$out/mmu_diff_fuzzer.options")
[ "${#options[@]}" -gt 0 ] || fail "mmu_diff_fuzzer.options has no [libfuzzer] option"
log=$(cd "$out" && ./mmu_diff_fuzzer "${options[@]}" -runs=0 "$tmp/corpus" 2>&1) ||
  { printf '%s\n' "$log" | tail -n 40; fail "the fuzzer failed on its seed corpus"; }
printf '%s\n' "$log" | grep -E "Dictionary|seed corpus|Done"
printf '%s\n' "$log" | grep -Eq "Dictionary: [1-9][0-9]* entries" ||
  fail "the fuzzer loaded no dictionary"
printf '%s\n' "$log" | grep -q "seed corpus: files: $seeds " ||
  fail "the fuzzer did not read $seeds seed cases"
runs=$(printf '%s\n' "$log" | sed -n 's/^Done \([0-9]*\) runs.*/\1/p')
[ -n "$runs" ] && [ "$runs" -ge "$seeds" ] || fail "the fuzzer ran ${runs:-no} inputs, not $seeds"
echo "PASS: \$OUT holds the fuzzer, $seeds binary seeds, the dictionary and the options"
