#!/usr/bin/env bash
# libfuzzer_options.sh FUZZER_DIR: prints, one per line, the libFuzzer flags of
# the [libfuzzer] section of .clusterfuzzlite/mmu_diff_fuzzer.options, so that
# make fuzz and make corpus-merge run with the options ClusterFuzzLite uses.
# The dictionary is named relative to the fuzzer, as ClusterFuzzLite has it.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 FUZZER_DIR" >&2; exit 2; }
options=$(dirname "$0")/../.clusterfuzzlite/mmu_diff_fuzzer.options
sed -n '/^\[libfuzzer\]/,/^\[/s/^\([a-z_]*\) *= *\(.*\)$/-\1=\2/p' "$options" |
  sed "s|^-dict=|-dict=$1/|"
