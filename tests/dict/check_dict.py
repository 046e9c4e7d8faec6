#!/usr/bin/python3
"""check_dict.py PROTOC CASE_PROTO DICT FUZZER: checks the fuzzing dictionary.

Every entry must be what its name says, as protoc (not tools/make_dict.py)
encodes it: op_ and control_ and write_ entries are binary cases equal to the
text case their name describes; flags_ entries are the entry bytes that the
layout documented in case.proto gives. Every op kind must have its op_
entry. Finally the fuzzer must load the dictionary with every entry.
"""

import re
import subprocess
import sys
import tempfile

# Short names in entry names -> EntryBits fields and the letters case.proto's
# layout comment uses for them.
FLAGS = {
    "p": ("present", "P"),
    "w": ("writable", "RW"),
    "u": ("user", "US"),
    "a": ("accessed", "A"),
    "d": ("dirty", "D"),
    "ps": ("page_size", "PS"),
    "g": ("global", "G"),
    "nx": ("nx", "NX"),
}


def parse_dict(path):
    entries = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            m = re.fullmatch(r'(\w+)="((?:\\x[0-9a-f]{2})+)"', line)
            if not m:
                sys.exit(f"FAIL: malformed dictionary line: {line}")
            if m.group(1) in entries:
                sys.exit(f"FAIL: two entries named {m.group(1)}")
            entries[m.group(1)] = bytes.fromhex(m.group(2).replace("\\x", ""))
    return entries


def documented_bits(proto_text):
    """Bit of each flag letter from 'value = P | RW<<1 | ...' in case.proto."""
    m = re.search(r"value = P((?:\s*\|\s*\w+<<\d+)+)", proto_text)
    if not m:
        sys.exit("FAIL: case.proto no longer documents the entry layout")
    bits = {"P": 0}
    for letter, bit in re.findall(r"(\w+)<<(\d+)", m.group(1)):
        bits[letter] = int(bit)
    return bits


def expected_text(name):
    kind, _, rest = name.partition("_")
    if kind == "op":
        return "ops { %s {} }" % rest
    if kind == "control":
        bit, _, state = rest.rpartition("_")
        value = " value: true" if state == "on" else ""
        return "ops { set_control { bit: %s%s } }" % (bit.upper(), value)
    if kind == "write":
        fields = " ".join("%s: true" % FLAGS[s][0] for s in rest.split("_"))
        return "ops { write_entry { bits { %s } } }" % fields
    sys.exit(f"FAIL: unknown entry kind in {name}")


def main():
    protoc, proto, dict_path, fuzzer = sys.argv[1:]
    with open(proto) as f:
        proto_text = f.read()
    bits = documented_bits(proto_text)
    entries = parse_dict(dict_path)
    failures = 0
    for name, value in entries.items():
        if name == "flags_nx":
            want = bytes([(1 << bits["NX"]) >> 56])
        elif name.startswith("flags_"):
            letters = [FLAGS[s][1] for s in name.split("_")[1:]]
            want = bytes([sum(1 << bits[l] for l in letters) & 0xFF])
        else:
            text = expected_text(name)
            want = subprocess.run(
                [protoc, "--encode=shadowdiff.Case", "-I", proto.rsplit("/", 1)[0], proto],
                input=text.encode(), capture_output=True, check=True).stdout
        if value != want:
            print(f"FAIL: {name} is {value.hex()}, protoc/case.proto say {want.hex()}")
            failures += 1

    oneof = re.search(r"oneof kind \{(.*?)\}", proto_text, re.S)
    if not oneof:
        sys.exit("FAIL: case.proto has no oneof kind")
    for kind in re.findall(r"\w+ (\w+) = \d+;", oneof.group(1)):
        if "op_" + kind not in entries:
            print(f"FAIL: no op_{kind} entry")
            failures += 1

    with tempfile.TemporaryDirectory() as empty:
        run = subprocess.run([fuzzer, "-dict=" + dict_path, "-runs=0", empty],
                             capture_output=True, text=True)
    loaded = re.search(r"Dictionary: (\d+) entries", run.stderr)
    if run.returncode != 0 or not loaded or int(loaded.group(1)) != len(entries):
        print(run.stderr[-2000:])
        print(f"FAIL: the fuzzer did not load all {len(entries)} entries")
        failures += 1
    if failures:
        sys.exit(1)
    print(f"{len(entries)} dictionary entries checked against protoc and case.proto")


if __name__ == "__main__":
    main()
