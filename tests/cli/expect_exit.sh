#!/usr/bin/env bash
# expect_exit.sh STATUS REGEX COMMAND...: runs COMMAND, passes if it exits with
# STATUS and its combined output matches the extended REGEX.
set -u
want=$1 pattern=$2
shift 2
out=$("$@" 2>&1)
got=$?
printf '%s\n' "$out" | tail -n 40
if [ "$got" -ne "$want" ]; then
  echo "FAIL: exit status $got, expected $want: $*"
  exit 1
fi
if ! printf '%s\n' "$out" | grep -Eq -- "$pattern"; then
  echo "FAIL: output does not match /$pattern/: $*"
  exit 1
fi
