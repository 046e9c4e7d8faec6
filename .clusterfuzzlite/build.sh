#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build of mmu_diff_fuzzer. Runs in the source tree
# (the Dockerfile's WORKDIR) with the image's $CXX, $CXXFLAGS and
# $LIB_FUZZING_ENGINE, and leaves in $OUT the fuzzer, its seed corpus of
# binary cases, its dictionary, its options, and in $OUT/lib the shared
# libraries it needs from the build packages (the runner image has none).

# Ubuntu's libprotobuf and Abseil are built against libstdc++; their
# std::string arguments do not link with libc++'s, which the image's
# CXXFLAGS ask for, so shadowdiff is built against libstdc++ as they are.
CXXFLAGS=${CXXFLAGS//-stdlib=libc++/}

# The image's flags carry the sanitizer and the engine's instrumentation for
# every file: SHADOWDIFF_SANITIZE and SHADOWDIFF_FUZZ_FEEDBACK would add them
# twice. The tests and benchmarks are not needed here.
build=$WORK/shadowdiff-build
cmake -S . -B "$build" -G Ninja \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_C_FLAGS="$CFLAGS" \
  -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_CXX_FLAGS="$CXXFLAGS" \
  -DCMAKE_BUILD_RPATH='$ORIGIN/lib' \
  -DSHADOWDIFF_FUZZER=ON -DSHADOWDIFF_SANITIZE=OFF -DSHADOWDIFF_BUILD_TESTS=OFF \
  -DSHADOWDIFF_FUZZ_FEEDBACK= -DSHADOWDIFF_FUZZING_ENGINE="$LIB_FUZZING_ENGINE"
cmake --build "$build" --target mmu_diff_fuzzer shadowdiff mmu_diff_fuzzer_dict

cp "$build/bin/mmu_diff_fuzzer" "$build/bin/mmu_diff_fuzzer.dict" "$OUT/"
cp .clusterfuzzlite/mmu_diff_fuzzer.options "$OUT/"
mkdir -p "$OUT/lib"
ldd "$OUT/mmu_diff_fuzzer" | awk '/libabsl_|libprotobuf/ { print $3 }' |
  xargs -r cp -t "$OUT/lib"

# The reviewed text seeds, as the binary cases the fuzzer mutates. The
# coverage build's tool would otherwise leave its profile in the source tree.
seeds=$WORK/shadowdiff-seeds
LLVM_PROFILE_FILE=$WORK/convert.profraw \
  tools/binary_seeds.sh "$build/bin/shadowdiff" "$seeds"
rm -f "$OUT/mmu_diff_fuzzer_seed_corpus.zip"
zip -q -j "$OUT/mmu_diff_fuzzer_seed_corpus.zip" "$seeds"/*.pb
