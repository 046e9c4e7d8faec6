#!/usr/bin/env bash
# fuzzer_quiet_on_bad_text.sh FUZZER: an input that is neither a binary case nor
# a valid text case runs nothing and prints nothing. Mutated text seeds are
# mostly such inputs, and a parser message for each would drown the progress
# lines.
set -u
fuzzer=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf 'setup { mode: NOT_A_MODE }\n' > "$dir/bad.textproto"
out=$("$fuzzer" -runs=0 "$dir" 2>&1)
status=$?
printf '%s\n' "$out" | tail -n 20
if [ "$status" -ne 0 ]; then
  echo "FAIL: exit status $status"
  exit 1
fi
if printf '%s\n' "$out" | grep -q "Error parsing"; then
  echo "FAIL: the text parser's error reached the log"
  exit 1
fi
if ! printf '%s\n' "$out" | grep -Eq "Done [0-9]+ runs"; then
  echo "FAIL: the fuzzer did not finish its runs"
  exit 1
fi
