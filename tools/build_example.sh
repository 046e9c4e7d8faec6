#!/usr/bin/env bash
# build_example.sh SANITIZED_TREE SOURCE_DIR OUT_DIR: installs shadowdiff from
# the sanitized tree into OUT_DIR/prefix and builds examples/simple_mmu
# against the installed package in OUT_DIR/build, as a team builds its own
# MMU (find_package(shadowdiff), shadowdiff_add_fuzzer). Logs in OUT_DIR.
set -uo pipefail
[ $# -eq 3 ] || { echo "usage: $0 SANITIZED_TREE SOURCE_DIR OUT_DIR" >&2; exit 2; }
tree=$1 src=$2 out=$3
mkdir -p "$out"
cmake --install "$tree" --prefix "$out/prefix" > "$out/install.log" 2>&1 ||
  { cat "$out/install.log"; echo "build_example: cmake --install failed" >&2; exit 1; }
cmake -S "$src/examples/simple_mmu" -B "$out/build" -G Ninja \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_PREFIX_PATH="$out/prefix" \
  > "$out/configure.log" 2>&1 ||
  { cat "$out/configure.log"; echo "build_example: configure failed" >&2; exit 1; }
cmake --build "$out/build" > "$out/build.log" 2>&1 ||
  { tail -40 "$out/build.log"; echo "build_example: build failed" >&2; exit 1; }
