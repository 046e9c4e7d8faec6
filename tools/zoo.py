#!/usr/bin/env python3
"""make zoo: how fast the fuzzer finds each bug of the zoo again.

For every bug, RUNS fuzzing runs (different seeds) of mmu_diff_fuzzer from
corpus/seeds only, each limited to SECONDS, with the bug switched on through
SHADOWDIFF_INJECT; then the same for the baseline target (libFuzzer's own byte
mutations). Both start from the seeds as binary cases and run with the options
of .clusterfuzzlite/mmu_diff_fuzzer.options. The seeds are reviewed cases written to reach
the situations where shadow MMUs go wrong, so some of them catch a bug as they
are: those are counted, then left out of that bug's runs, so that the runs
measure what fuzzing finds. The first divergence of each bug is reduced with
`shadowdiff reduce`. Writes the table to docs/zoo.md, and with the goals of the
fuzzer issue checked against it to README.md's zoo section.
"""
import argparse
import concurrent.futures
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "bin")
DEFAULT_OUT = os.path.join(ROOT, "docs", "zoo.md")
README = os.path.join(ROOT, "README.md")
README_BEGIN, README_END = "<!-- zoo table: tools/zoo.py -->", "<!-- end of zoo table -->"
# The bugs of the shadow MMU's deferred-flush mode: they run on that MMU,
# under the architectural oracle (under the strict one the mode itself is
# reported at once).
DEFERRED_BUGS = [
    "invlpg-ignored", "invlpg-large-partial", "cr3-reload-no-flush",
    "pge-toggle-no-flush", "pcid-noflush-keeps-host-tlb",
]
# The bugs of the out-of-sync mode: they run on shadow-unsync, which has every
# switch, under the architectural oracle.
UNSYNC_BUGS = [
    "unsync-child-linked-stale", "invlpg-skips-sync", "cr3-cached-root-skips-sync",
    "unsync-beside-upper-shadow", "sync-keeps-old-frame",
]
BUGS = [
    "nonpae-pde-single-zap", "quadrant-ignored", "update-ignores-parent-rights",
    "nxe-not-in-role", "wp-not-in-role", "direct-sp-shares-rights",
    "no-write-protect-on-shadow", "no-flush-on-protect", "misaligned-write-kept",
    "pae-pdpte-reread",
] + DEFERRED_BUGS + UNSYNC_BUGS
# The MMUs that rely on the guest's invalidations: the strict oracle reports
# them at once, so their runs are under the architectural one.
LAZY_MMUS = {"shadow-deferred", "shadow-unsync"}


def mmu_for(bug):
    """The MMU a bug's runs use: SHADOWDIFF_MMU when set (every bug on one
    MMU), else the shadow MMU in the mode the bug lives in."""
    if os.environ.get("SHADOWDIFF_MMU"):
        return os.environ["SHADOWDIFF_MMU"]
    if bug in UNSYNC_BUGS:
        return "shadow-unsync"
    if bug in DEFERRED_BUGS:
        return "shadow-deferred"
    return "shadow"


def env_for(bug):
    """The environment of the fuzzer and shadowdiff for one bug's runs."""
    env = dict(os.environ, SHADOWDIFF_INJECT=bug, SHADOWDIFF_MMU=mmu_for(bug))
    if mmu_for(bug) in LAZY_MMUS:
        env.update(SHADOWDIFF_ORACLE="architectural")
    return env


def oracle_name():
    return os.environ.get("SHADOWDIFF_ORACLE") or "strict"


def libfuzzer_options():
    """The flags of .clusterfuzzlite/mmu_diff_fuzzer.options (max_len, dict...)."""
    out = subprocess.run([os.path.join(ROOT, "tools", "libfuzzer_options.sh"), BIN],
                         check=True, capture_output=True, text=True).stdout
    return out.split()


def fuzz_once(fuzzer, seeds, bug, seed, seconds, options, artifacts):
    """One run; returns (found, seconds, execs, crash_path, startup).

    startup is None when the run never got to INITED.

    The time of a finding is taken when the divergence report appears: after
    it the fuzzer only aborts, and libFuzzer symbolizes a stack trace of the
    abort (about 0.35 s here) that says nothing about the bug. The start-up
    is the time to libFuzzer's INITED line: the process started and every
    seed run once, before any mutation.
    """
    with tempfile.TemporaryDirectory() as work:
        env = env_for(bug)
        prefix = os.path.join(artifacts, "%s-%d-" % (bug, seed))
        start = time.monotonic()
        proc = subprocess.Popen(
            [fuzzer, "-seed=%d" % seed, "-max_total_time=%d" % seconds,
             *options,
             "-print_final_stats=1",
             "-artifact_prefix=" + prefix, work, seeds],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            errors="replace")
        lines, reported, startup = [], None, None
        for line in proc.stderr:
            if startup is None and "INITED" in line:
                startup = time.monotonic() - start
            if reported is None and "DIVERGENCE" in line:
                reported = time.monotonic() - start
            lines.append(line)
        proc.wait()
        elapsed = time.monotonic() - start
    log = "".join(lines)
    execs = re.findall(r"stat::number_of_executed_units:\s+(\d+)", log)
    crash = re.search(r"Test unit written to (\S+)", log)
    found = crash is not None and reported is not None
    return (found, reported if found else elapsed, int(execs[-1]) if execs else 0,
            crash.group(1) if crash else None, startup)


def median(values):
    return statistics.median(values) if values else None


def fmt(value, unit=""):
    if value is None:
        return "-"
    return ("%.1f%s" % (value, unit)) if isinstance(value, float) else "%d%s" % (value, unit)


def reduced_ops(bug, crash, out_dir):
    out = os.path.join(out_dir, bug + ".reduced.textproto")
    proc = subprocess.run(
        [os.path.join(BIN, "shadowdiff"), "reduce", crash, "-o", out],
        capture_output=True, text=True, env=env_for(bug))
    m = re.search(r"-> (\d+) ops", proc.stdout)
    return int(m.group(1)) if m else None


def goals(rows, runs, seconds, with_baseline, startup):
    """The fuzzer issue's goals, each checked against this run's figures.

    startup is the median start-up of our runs, reported beside: times are
    taken from the start of the process, which is why the goals count
    executions.
    """
    def names(bugs):
        return ", ".join(bugs) if bugs else "none"

    need = -(-4 * runs // 5)  # 4 of 5, scaled to the number of runs
    rarely = [r["bug"] for r in rows if r["ours"][0] < need]
    slow = [r["bug"] for r in rows if r["ours"][1] is None or r["ours"][1] > 30]
    # Counted in executions (libFuzzer's count at the first report), with
    # the wall-clock ratio beside it.
    beaten, not_beaten = [], []
    for r in rows:
        (found, time, execs), (b_found, b_time, b_execs) = r["ours"], r["base"]
        if found and not b_found:
            beaten.append("%s (baseline 0/%d)" % (r["bug"], runs))
        elif found and max(execs, 1) * 10 <= b_execs:
            beaten.append("%s (%.0fx; %.1fx in time)" % (
                r["bug"], b_execs / max(execs, 1), b_time / time))
        else:
            detail = r["bug"]
            if found and b_found:
                detail += " (%.1fx in execs, %.1fx in time)" % (
                    b_execs / max(execs, 1), b_time / time)
            not_beaten.append(detail)
    big = [r["bug"] for r in rows if r.get("reduced") is None or r["reduced"] > 10]
    against_baseline = [
        "- at least 10x fewer executions than the baseline on the median, or found "
        "where it is not: %d of %d: %s; short: %s." % (
            len(beaten), len(rows), names(beaten), names(not_beaten))
    ] if with_baseline else ["- against the baseline: not run (--only-ours)."]
    return [
        "Against the goals of the fuzzer issue (computed by tools/zoo.py from the table):",
        "- start-up, from the start of the process to libFuzzer's INITED (the seeds run "
        "once), median of our runs: %s." % (
            "-" if startup is None else "%.2f s" % startup),
        "- found in at least %d of %d runs within %d s: %d of %d bugs; short: %s." % (
            need, runs, seconds, len(rows) - len(rarely), len(rows), names(rarely)),
        "- median time to find at most 30 s: %d of %d; short: %s." % (
            len(rows) - len(slow), len(rows), names(slow)),
        *against_baseline,
        "- a reduced case of at most 10 ops: %d of %d; short: %s." % (
            len(rows) - len(big), len(rows), names(big)),
    ]


def where_run():
    """Which MMU and oracle the runs used, in words."""
    if os.environ.get("SHADOWDIFF_MMU"):
        return "every bug on `%s` under the %s oracle" % (
            os.environ["SHADOWDIFF_MMU"],
            "architectural" if os.environ["SHADOWDIFF_MMU"] in LAZY_MMUS
            else oracle_name())
    return ("under the %s oracle on `shadow` (the deferred-flush mode's bugs on "
            "`shadow-deferred` and the out-of-sync mode's on `shadow-unsync`, both "
            "under the architectural oracle)" % oracle_name())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--baseline-seconds", type=int, default=None,
                        help="time limit of each baseline run (default: --seconds)")
    parser.add_argument("--bugs", default=",".join(BUGS))
    parser.add_argument("--only-ours", action="store_true",
                        help="leave the baseline out (for quick comparisons)")
    parser.add_argument("--out", default=DEFAULT_OUT,
                        help="where the table goes; README.md is updated too when it is "
                        "docs/zoo.md")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="fuzzing runs at once, one core each")
    args = parser.parse_args()
    baseline_seconds = args.baseline_seconds or args.seconds

    artifacts = tempfile.mkdtemp(prefix="shadowdiff-zoo-")
    options = libfuzzer_options()
    shadowdiff = os.path.join(BIN, "shadowdiff")
    seeds_dir = os.path.join(ROOT, "corpus", "seeds")
    seed_names = sorted(n for n in os.listdir(seeds_dir) if n.endswith(".textproto"))
    bugs = args.bugs.split(",")
    if oracle_name() == "strict":
        skipped = [b for b in bugs if mmu_for(b) in LAZY_MMUS]
        bugs = [b for b in bugs if mmu_for(b) not in LAZY_MMUS]
        if skipped:
            print("zoo: under the strict oracle the deferred-flush and out-of-sync "
                  "modes are reported at once; left out: " + ", ".join(skipped),
                  flush=True)
    # Per bug: the seeds that do not already diverge, as binary cases (text
    # seeds would be cut short by -max_len).
    all_binary = os.path.join(artifacts, "binary-seeds")
    subprocess.run([os.path.join(ROOT, "tools", "binary_seeds.sh"), shadowdiff, all_binary],
                   check=True)
    seed_dirs, catching = {}, {}
    for bug in bugs:
        binary_dir = os.path.join(artifacts, bug, "binary-seeds")
        os.makedirs(binary_dir)
        catching[bug] = 0
        for name in seed_names:
            status = subprocess.run(
                [shadowdiff, "replay", os.path.join(seeds_dir, name)],
                capture_output=True, env=env_for(bug)).returncode
            if status == 1:
                catching[bug] += 1
                continue
            binary = name[:-len(".textproto")] + ".pb"
            os.link(os.path.join(all_binary, binary), os.path.join(binary_dir, binary))
        seed_dirs[bug] = binary_dir

    plans = []
    for bug in bugs:
        binary_dir = seed_dirs[bug]
        engines = [("ours", "mmu_diff_fuzzer", binary_dir, args.seconds)]
        if not args.only_ours:
            engines.append(("base", "mmu_diff_fuzzer_baseline", binary_dir,
                            baseline_seconds))
        for label, fuzzer, seeds, seconds in engines:
            for run in range(args.runs):
                plans.append((bug, label, fuzzer, seeds, seconds, run))

    def run_plan(plan):
        bug, label, fuzzer, seeds, seconds, run = plan
        outcome = fuzz_once(os.path.join(BIN, fuzzer), seeds, bug, 1 + run,
                            seconds, options, artifacts)
        print("%-30s %-4s run %d: %s in %.1fs, %d execs" % (
            bug, label, run, "found" if outcome[0] else "not found", outcome[1],
            outcome[2]), flush=True)
        return plan, outcome

    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(run_plan, plans))

    rows = []
    for bug in bugs:
        result = {"bug": bug, "catching": catching[bug]}
        for label in ("ours", "base"):
            runs = [o for (b, l, *_), o in results if b == bug and l == label]
            found = [o for o in runs if o[0]]
            execs = median([o[2] for o in found])
            result[label] = (len(found), median([o[1] for o in found]),
                             None if execs is None else int(execs))
            if label == "ours" and found:
                result["reduced"] = reduced_ops(bug, found[0][3], artifacts)
        rows.append(result)

    lines = [
        "# The bug zoo, found again",
        "",
        "Made by `make zoo` (tools/zoo.py) on a 2-core machine, %d fuzzing runs at a "
        "time: for each bug, %d runs "
        "of `mmu_diff_fuzzer` (ASan+UBSan) from `corpus/seeds` only (as binary "
        "cases), %d s each, with the bug switched on, %s; the baseline is the same target "
        "without the custom mutator, %d s each. Both run with the libFuzzer options of "
        "`.clusterfuzzlite/mmu_diff_fuzzer.options` (`%s`). Times are wall-clock from the "
        "start of the fuzzer to its first divergence report (start-up and loading the "
        "seeds included; the crash handling after the report, where libFuzzer "
        "symbolizes a stack trace of the abort, left out), medians over the runs that "
        "found it. \"seeds catching it\" counts "
        "the seeds that diverge with the bug on as they are; they are left out of "
        "that bug's runs, so the runs measure what the mutations find. \"reduced ops\" "
        "is the size of the first divergence after `shadowdiff reduce`."
        % (args.jobs, args.runs, args.seconds, where_run(), baseline_seconds,
           " ".join(o for o in options if not o.startswith("-dict="))),
        "",
    ]
    table = [
        "| bug | seeds catching it | found | median time | median execs | baseline found | baseline median time | baseline median execs | reduced ops |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        o, b = r["ours"], r["base"]
        table.append("| %s | %d | %d/%d | %s | %s | %d/%d | %s | %s | %s |" % (
            r["bug"], r["catching"], o[0], args.runs, fmt(o[1], " s"), fmt(o[2]), b[0], args.runs,
            fmt(b[1], " s"), fmt(b[2]), fmt(r.get("reduced"))))
    startup = median([o[4] for (_, label, *_), o in results
                      if label == "ours" and o[4] is not None])
    table += ["", *goals(rows, args.runs, args.seconds, not args.only_ours, startup)]
    lines += table + [""]
    with open(args.out, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))
    if os.path.abspath(args.out) == DEFAULT_OUT:
        update_readme(table)


def update_readme(table):
    """Puts the table and the goals between README.md's zoo markers."""
    with open(README) as f:
        text = f.read()
    begin, end = text.find(README_BEGIN), text.find(README_END)
    if begin < 0 or end < begin:
        sys.exit("%s: no %s ... %s section to update" % (README, README_BEGIN, README_END))
    text = (text[:begin + len(README_BEGIN)] + "\n" + "\n".join(table) + "\n" +
            text[end:])
    with open(README, "w") as f:
        f.write(text)


if __name__ == "__main__":
    sys.exit(main())
