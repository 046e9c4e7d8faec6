#!/usr/bin/env bash
# make coverage: replays corpora (COVERAGE_CORPUS: the seeds, and the working
# corpus fuzz-corpus/ if there is one) with the coverage build of shadowdiff,
# prints the line and branch coverage of model/ and impl/ file by file, and
# writes the HTML report of the project's sources to build/coverage/.
set -euo pipefail
cd "$(dirname "$0")/.."

tool=build/coverage-tree/bin/shadowdiff
report=build/coverage
read -ra corpora <<< "${COVERAGE_CORPUS:-corpus/seeds}"
[ -x "$tool" ] || { echo "make coverage: no $tool (cmake --preset coverage)" >&2; exit 2; }
rm -rf "$report"
mkdir -p "$report/profraw"

echo "replaying ${corpora[*]}"
status=0
LLVM_PROFILE_FILE="$PWD/$report/profraw/%p.profraw" \
  "$tool" replay "${corpora[@]}" > "$report/replay.txt" 2>&1 || status=$?
tail -n 1 "$report/replay.txt"
case $status in
  0) ;;
  1) echo "some cases diverge: their reports are in $report/replay.txt" ;;
  *) cat "$report/replay.txt" >&2; exit 2 ;;
esac

llvm-profdata-14 merge -sparse -o "$report/shadowdiff.profdata" "$report"/profraw/*.profraw
cov=(-instr-profile="$report/shadowdiff.profdata" "$tool")
for dir in model impl; do
  echo
  echo "== $dir/ =="
  llvm-cov-14 report "${cov[@]}" "$PWD/$dir"
done | tee "$report/summary.txt"
llvm-cov-14 show "${cov[@]}" -format=html -output-dir="$report" \
  -show-branches=count -show-line-counts-or-regions \
  "$PWD/model" "$PWD/impl" "$PWD/host" "$PWD/fuzz" "$PWD/proto"
echo
echo "report: $report/index.html (summary: $report/summary.txt)"
