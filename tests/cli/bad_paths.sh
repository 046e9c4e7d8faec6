#!/usr/bin/env bash
# bad_paths.sh SHADOWDIFF_BINARY: paths that are not case files (a FIFO, a
# device, a directory where a file is wanted, an empty directory, a broken
# case) give exit 2 promptly, and case files are taken whatever their names
# (a binary .bin, a text case without extension). Every check runs, each
# under a timeout (a FIFO opened for reading would block forever); the failed
# ones are named at the end.
set -u
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
data=$here/data
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

failed=()
out=$tmp/out stdout=$tmp/stdout

# check NAME STATUS REGEX COMMAND...: COMMAND exits with STATUS within 10 s
# and its output (the files in `searched`) matches the extended REGEX, if
# one is given.
searched=("$stdout" "$tmp/stderr")
check() {
  local name=$1 want=$2 pattern=$3
  shift 3
  timeout -k 5 10 "$@" >"$stdout" 2>"$tmp/stderr"
  local got=$?
  if [ "$got" -eq 124 ] || [ "$got" -eq 137 ]; then
    fail "$name" "timed out after 10 s: $*"
  elif [ "$got" -ne "$want" ]; then
    fail "$name" "exit status $got, expected $want: $*"
  elif [ -n "$pattern" ] && ! cat "${searched[@]}" | grep -Eq -- "$pattern"; then
    fail "$name" "output does not match /$pattern/: $*"
  else
    echo "ok: $name"
  fi
}

# fail NAME WHY: records a failed check, with the output of its command.
fail() {
  echo "FAIL: $1: $2"
  cat "$stdout" "$tmp/stderr" | tail -n 20 | sed 's/^/  | /'
  failed+=("$1")
}

# check_absent NAME PATH: a refused command left no output file behind.
check_absent() {
  if [ -e "$2" ]; then
    fail "$1_no_output" "$2 was created"
    rm -rf "$2"
  fi
}

mkfifo "$tmp/fifo"
mkdir "$tmp/dir" "$tmp/empty" "$tmp/bin_only" "$tmp/broken" "$tmp/with_fifo"
cp "$data/two_ops.textproto" "$tmp/dir/"
check convert_to_bin 0 "" "$bin" convert "$data/two_ops.textproto" \
  "$tmp/bin_only/case.bin"
cp "$data/two_ops.textproto" "$tmp/broken/"
cp "$data/broken.textproto" "$tmp/broken/"
cp "$data/two_ops.textproto" "$tmp/crash-0123abcd"
cp "$data/two_ops.textproto" "$tmp/with_fifo/"
mkfifo "$tmp/with_fifo/fifo"

fifo_error="fifo: is not a regular file \(a FIFO\)"
check explain_fifo 2 "$fifo_error" "$bin" explain "$tmp/fifo"
check reduce_fifo 2 "$fifo_error" "$bin" reduce "$tmp/fifo" -o "$out.textproto"
check_absent reduce_fifo "$out.textproto"
check convert_fifo 2 "$fifo_error" "$bin" convert "$tmp/fifo" "$out.pb"
check_absent convert_fifo "$out.pb"
check replay_fifo 2 "$fifo_error" "$bin" replay "$tmp/fifo"
# In a directory a FIFO is skipped, never opened.
check replay_dir_with_fifo 0 "ran 1 case: 1 agree" "$bin" replay "$tmp/with_fifo"

check explain_dev_zero 2 "/dev/zero: is not a regular file \(a character device\)" \
  "$bin" explain /dev/zero
check explain_dir 2 "dir: is a directory" "$bin" explain "$tmp/dir"
check convert_dir 2 "dir: is a directory" "$bin" convert "$tmp/dir" "$out.pb"
check_absent convert_dir "$out.pb"

# Binary cases are found by a directory walk whatever their extension.
check replay_bin_dir 0 "ran 1 case: 1 agree" "$bin" replay "$tmp/bin_only"
# A directory without cases is an input error: nothing was checked.
check replay_empty_dir 2 "ran 0 cases" "$bin" replay "$tmp/empty"
# An unparsable case among good ones fails coverage, naming the file.
check coverage_broken_file 2 "broken\.textproto:4:" "$bin" coverage "$tmp/broken"
# A text case is text without a text name (a libFuzzer crash file).
check replay_text_without_extension 0 "ran 1 case: 1 agree" \
  "$bin" replay "$tmp/crash-0123abcd"

# Asked for, the usage goes to stdout.
searched=("$stdout")
check usage_--help 0 "[Uu]sage:" "$bin" --help
check usage_-h 0 "[Uu]sage:" "$bin" -h

if [ "${#failed[@]}" -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all checks passed"
