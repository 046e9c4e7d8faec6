#!/usr/bin/env bash
# make corpus-merge: shrinks the working corpus fuzz-corpus/ to a minimal set
# with libFuzzer's -merge=1. The seeds count as already there, so what stays
# is what reaches coverage the seeds do not: make fuzz fuzzes both anyway.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzzer=build/bin/mmu_diff_fuzzer
work=fuzz-corpus
if [ ! -x "$fuzzer" ]; then
  echo "make corpus-merge: no fuzzer at $fuzzer (make build builds it)" >&2
  exit 2
fi
if [ ! -d "$work" ] || [ -z "$(ls -A "$work")" ]; then
  echo "make corpus-merge: no working corpus in $work/ (make fuzz grows one)" >&2
  exit 2
fi
size() {
  echo "$(find "$1" -type f | wc -l) inputs, $(du -sk "$1" | cut -f1) KB"
}

echo "before: $work/: $(size "$work")"
merged=$(mktemp -d build/corpus-merge.XXXXXX)
trap 'rm -rf "$merged" "$merged.log"' EXIT
tools/binary_seeds.sh build/bin/shadowdiff "$merged/seeds"
mapfile -t options < <(tools/libfuzzer_options.sh "$(dirname "$fuzzer")")
if ! "$fuzzer" -merge=1 "${options[@]}" "$merged" "$merged/seeds" "$work" \
     > "$merged.log" 2>&1; then
  tail -n 20 "$merged.log" >&2
  echo "make corpus-merge: the merge failed; $work/ is left as it was" >&2
  exit 1
fi
grep -E "^MERGE-OUTER: [0-9]+ new files" "$merged.log" || true
rm -rf "$merged.log" "$merged/seeds"
rm -rf "$work"
mv "$merged" "$work"
trap - EXIT
echo "after:  $work/: $(size "$work")"
