#!/usr/bin/env bash
# binary_seeds.sh SHADOWDIFF OUT_DIR: writes the reviewed text seeds of
# corpus/seeds as binary cases into OUT_DIR (emptied first). Fuzzers get them
# in binary: a text case is about ten times larger, beyond -max_len.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 SHADOWDIFF OUT_DIR" >&2; exit 2; }
shadowdiff=$1
out=$2
root=$(dirname "$0")/..
rm -rf "$out"
mkdir -p "$out"
for seed in "$root"/corpus/seeds/*.textproto; do
  "$shadowdiff" convert "$seed" "$out/$(basename "$seed" .textproto).pb"
done
