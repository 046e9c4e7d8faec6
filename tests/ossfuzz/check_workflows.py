#!/usr/bin/python3
"""check_workflows.py WORKFLOW_DIR CLUSTERFUZZLITE_DIR

Parses every .github/workflows/*.yml and .clusterfuzzlite/project.yaml with
PyYAML and checks that together they set up ClusterFuzzLite as README.md
describes: one workflow for each mode (code-change on pull requests for 600 s
under ASan and UBSan, scheduled batch and prune runs, coverage), each opening
with a one-line comment, and a project.yaml whose base image matches the
Dockerfile. Prints every problem and exits 1 if there is one.
"""

import glob
import os
import re
import sys

import yaml

CFLITE = "google/clusterfuzzlite/actions/"
MODES = {"code-change", "batch", "prune", "coverage"}
FUZZING_SANITIZERS = ["address", "undefined"]

problems = []


def problem(where, message):
    problems.append(f"{where}: {message}")


def load(path):
    with open(path) as f:
        text = f.read()
    try:
        return text, yaml.safe_load(text)
    except yaml.YAMLError as e:
        problem(path, f"not valid YAML: {e}")
        return text, None


def sanitizers(job, step, where):
    """The sanitizers a step runs under: its own, or the job's matrix."""
    value = step.get("with", {}).get("sanitizer", "address")
    if value == "${{ matrix.sanitizer }}":
        matrix = job.get("strategy", {}).get("matrix", {}).get("sanitizer")
        if not isinstance(matrix, list):
            problem(where, "uses matrix.sanitizer without a sanitizer matrix")
            return []
        return matrix
    return [value]


def check_job(path, name, job, modes):
    where = f"{path}: job {name}"
    steps = job.get("steps") or []
    uses = [s.get("uses", "") for s in steps]
    build = [s for s in steps if s.get("uses", "").startswith(CFLITE + "build_fuzzers@")]
    run = [s for s in steps if s.get("uses", "").startswith(CFLITE + "run_fuzzers@")]
    if len(build) != 1 or len(run) != 1 or uses.index(build[0]["uses"]) > uses.index(run[0]["uses"]):
        problem(where, "needs one build_fuzzers step and then one run_fuzzers step")
        return
    build, run = build[0], run[0]
    if build.get("with", {}).get("language") != "c++":
        problem(where, "build_fuzzers must say language: c++")
    mode = run.get("with", {}).get("mode")
    if mode not in MODES:
        problem(where, f"run_fuzzers mode {mode!r} is not one of {sorted(MODES)}")
        return
    modes.append(mode)
    built = sanitizers(job, build, where)
    ran = sanitizers(job, run, where)
    if built != ran:
        problem(where, f"builds for {built} but runs {ran}")
    if mode in ("code-change", "batch") and sorted(ran) != FUZZING_SANITIZERS:
        problem(where, f"{mode} fuzzing must run under {FUZZING_SANITIZERS}, not {ran}")
    if mode == "coverage" and ran != ["coverage"]:
        problem(where, "coverage mode needs the coverage sanitizer")
    if mode == "code-change" and run["with"].get("fuzz-seconds") != 600:
        problem(where, "code-change fuzzing runs for 600 s")
    return mode


def check_triggers(path, doc, mode):
    # PyYAML reads the key `on` as the boolean True (YAML 1.1).
    triggers = doc.get(True, doc.get("on"))
    if not isinstance(triggers, dict):
        problem(path, "has no `on:` triggers")
        return
    if mode == "code-change" and "pull_request" not in triggers:
        problem(path, "code-change fuzzing must run on pull_request")
    if mode in ("batch", "prune", "coverage"):
        crons = [c.get("cron", "") for c in triggers.get("schedule") or []]
        if not crons:
            problem(path, f"{mode} must run on a schedule")
        if mode == "prune" and not all(c.split()[2:] == ["*", "*", "*"] for c in crons):
            problem(path, "prune must run daily")


def check_workflow(path, modes):
    text, doc = load(path)
    if doc is None:
        return
    lines = text.splitlines()
    if len(lines) < 2 or not lines[0].startswith("# ") or lines[1].startswith("#"):
        problem(path, "must open with a one-line comment on what it is for")
    if not isinstance(doc, dict) or not isinstance(doc.get("jobs"), dict) or not doc["jobs"]:
        problem(path, "has no jobs")
        return
    found = [check_job(path, n, j, modes) for n, j in doc["jobs"].items()]
    for mode in set(found) - {None}:
        check_triggers(path, doc, mode)


def check_project(cflite_dir):
    path = os.path.join(cflite_dir, "project.yaml")
    _, doc = load(path)
    if not isinstance(doc, dict):
        problem(path, "is not a mapping")
        return
    if doc.get("language") != "c++":
        problem(path, "language must be c++")
    with open(os.path.join(cflite_dir, "Dockerfile")) as f:
        image = re.search(r"^FROM \S+/base-builder:(\S+)$", f.read(), re.M)
    if not image or image.group(1) != doc.get("base_os_version"):
        problem(path, "base_os_version must be the Dockerfile's base-builder tag")
    if sorted(doc.get("sanitizers") or []) != FUZZING_SANITIZERS:
        problem(path, f"sanitizers must be {FUZZING_SANITIZERS}")


def main():
    workflow_dir, cflite_dir = sys.argv[1:]
    paths = sorted(glob.glob(os.path.join(workflow_dir, "*.yml")))
    modes = []
    for path in paths:
        check_workflow(path, modes)
    if sorted(modes) != sorted(MODES):
        problem(workflow_dir, f"modes {sorted(modes)}: want each of {sorted(MODES)} once")
    check_project(cflite_dir)
    for p in problems:
        print("FAIL:", p)
    if problems:
        sys.exit(1)
    print(f"{len(paths)} workflows and project.yaml check out")


if __name__ == "__main__":
    main()
