#!/usr/bin/env bash
# Unreadable inputs give exit 2 and a message naming the file and the place.
set -eu
bin=$1 data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
here=$(dirname "$0")

# A binary case cut short inside its second field.
"$bin" convert "$data/two_ops.textproto" "$tmp/whole.pb"
size=$(stat -c %s "$tmp/whole.pb")
head -c $((size - 3)) "$tmp/whole.pb" > "$tmp/truncated.pb"
"$here/expect_exit.sh" 2 "truncated.pb: not a binary shadowdiff.Case: malformed or truncated field at byte offset [0-9]+" \
  "$bin" replay "$tmp/truncated.pb"

# A text case with a syntax error on line 4.
"$here/expect_exit.sh" 2 "broken.textproto:4:[0-9]+: " "$bin" replay "$data/broken.textproto"

# Usage errors.
"$here/expect_exit.sh" 2 "unknown command" "$bin" frobnicate
"$here/expect_exit.sh" 2 "no such file" "$bin" replay "$tmp/missing"
"$here/expect_exit.sh" 2 "not expected: --bogus" "$bin" replay --bogus "$data/two_ops.textproto"
"$here/expect_exit.sh" 2 "no-such-bug" "$bin" replay --inject=no-such-bug "$data/two_ops.textproto"
"$here/expect_exit.sh" 2 "unknown MMU" "$bin" replay --mmu=imaginary "$data/two_ops.textproto"

# The whole binary case still runs and agrees.
"$here/expect_exit.sh" 0 "ran 1 case: 1 agree" "$bin" replay "$tmp/whole.pb"
