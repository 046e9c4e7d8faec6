#!/usr/bin/env bash
# run_settings.sh SHADOWDIFF REGRESSIONS [FUZZER]: the run settings end to end.
# A reduced file records the MMU and its switches, so replaying it needs no
# flag; --known tolerates a signature and says so; --baseline-mmu sharing the
# bug leaves reduce nothing to keep, the released baseline does not; an
# unsupported case is counted, exit 0. With FUZZER (a divergence there is
# libFuzzer's crash exit, 77): SHADOWDIFF_MMU is checked
# at start-up and an unknown name exits 2 listing the registered ones.
set -u
bin=$1
regressions=$2
fuzzer=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
check() {  # NAME WANT_STATUS REGEX COMMAND...
  local name=$1 want=$2 pattern=$3
  shift 3
  local out got
  out=$("$@" 2>&1)
  got=$?
  if [ "$got" -ne "$want" ] || ! printf '%s\n' "$out" | grep -Eq -- "$pattern"; then
    printf '%s\n' "$out" | tail -n 20
    echo "FAIL $name: exit $got (want $want), output /$pattern/: $*"
    failed=1
  fi
}
case=$regressions/wp-not-in-role.textproto

check reduce 0 "still a rights divergence" \
  "$bin" reduce --inject=wp-not-in-role "$case" -o "$tmp/reduced.textproto"
check reduced_records_settings 0 'switches: "wp-not-in-role"' cat "$tmp/reduced.textproto"
check replay_reduced_without_flags 1 "MMU under test: shadow:wp-not-in-role" \
  "$bin" replay "$tmp/reduced.textproto"
check flag_wins_over_record 0 "1 agree, 0 diverge" \
  "$bin" replay --mmu=shadow "$tmp/reduced.textproto"

echo 'rights/set_control/*  # wp-not-in-role, being fixed' > "$tmp/known.txt"
check known_tolerated 0 "0 diverge, 1 tolerated" \
  "$bin" replay --inject=wp-not-in-role --known="$tmp/known.txt" "$case"
echo 'outcome/*' > "$tmp/other.txt"
check other_known_still_diverges 1 "1 diverge" \
  "$bin" replay --inject=wp-not-in-role --known="$tmp/other.txt" "$case"
check known_file_missing 2 "cannot open" \
  "$bin" replay --known="$tmp/none.txt" "$case"
mkfifo "$tmp/known.fifo"
check known_file_fifo_refused 2 "not a regular file" \
  timeout 10 "$bin" replay --known="$tmp/known.fifo" "$case"

check baseline_shares 0 "1 tolerated" \
  "$bin" replay --inject=wp-not-in-role --baseline-mmu=shadow:wp-not-in-role "$case"
check reduce_keeps_baseline_condition 2 "nothing to reduce" \
  "$bin" reduce --inject=wp-not-in-role --baseline-mmu=shadow:wp-not-in-role "$case" \
  -o "$tmp/none.textproto"
check reduce_against_released_baseline 0 "still a rights divergence" \
  "$bin" reduce --inject=wp-not-in-role --baseline-mmu=shadow "$case" \
  -o "$tmp/baseline.textproto"
check baseline_recorded 0 'baseline_mmu: "shadow"' cat "$tmp/baseline.textproto"

check untagged_hides_forgotten_flush 0 "1 agree" \
  "$bin" replay --inject=no-flush-on-protect --host-tlb=untagged \
  "$regressions/no-flush-on-protect.textproto"
check bad_host_tlb 2 "unknown host TLB" "$bin" replay --host-tlb=sometimes "$case"
check bad_switch 2 "unknown" "$bin" replay --mmu=shadow:no-such-bug "$case"
check env_binding 1 "1 diverge" env SHADOWDIFF_INJECT=wp-not-in-role "$bin" replay "$case"

if [ -n "$fuzzer" ]; then
  check fuzzer_unknown_mmu 2 "known: .*naive.*shadow" \
    env SHADOWDIFF_MMU=no-such-mmu "$fuzzer" -runs=0
  check fuzzer_bad_host_tlb 2 "SHADOWDIFF_HOST_TLB" \
    env SHADOWDIFF_HOST_TLB=sometimes "$fuzzer" -runs=0
  check fuzzer_known_tolerates 0 "[1-9][0-9]* known divergences tolerated" \
    env SHADOWDIFF_INJECT=wp-not-in-role SHADOWDIFF_KNOWN="$tmp/known.txt" "$fuzzer" "$case"
  check fuzzer_baseline_shares 0 "divergences the baseline shadow:wp-not-in-role shares" \
    env SHADOWDIFF_INJECT=wp-not-in-role SHADOWDIFF_BASELINE_MMU=shadow:wp-not-in-role \
    "$fuzzer" "$case"
  # The options file beside the fuzzer gives max_len (and the dictionary),
  # and text seeds, longer than max_len, are fuzzed as binary copies.
  mkdir -p "$tmp/work"
  check fuzzer_takes_its_options 0 "files found in /tmp/shadowdiff-text-seeds-" \
    "$fuzzer" -runs=0 "$tmp/work" "$regressions/../seeds"
  if "$fuzzer" -runs=0 "$tmp/work" "$regressions/../seeds" 2>&1 | grep -q "max_len is not provided"; then
    echo "FAIL fuzzer_max_len: the options file's max_len was not taken"
    failed=1
  fi
  check fuzzer_reports_settings 77 "MMU under test: naive:wp-not-in-role, host TLB untagged" \
    env SHADOWDIFF_MMU=naive:wp-not-in-role SHADOWDIFF_HOST_TLB=untagged "$fuzzer" "$case"
fi
if [ "$failed" -ne 0 ]; then echo "0 passed, 1 failed"; exit 1; fi
echo "1 passed, 0 failed"
