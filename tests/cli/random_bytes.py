#!/usr/bin/env python3
"""Feeds shadowdiff random bytes: each file must either parse and run (exit 0:
the shadow MMU agrees with the reference) or be refused with exit 2 and a
message. A crash, a sanitizer report or any other status fails the test."""
import os
import random
import subprocess
import sys
import tempfile

binary, count = sys.argv[1], int(sys.argv[2])
rng = random.Random(20261125)
ran = refused = 0
with tempfile.TemporaryDirectory() as tmp:
    for i in range(count):
        size = rng.choice([1, 2, 7, 16, 64, 200, 1000])
        data = bytes(rng.getrandbits(8) for _ in range(size))
        # Half of the inputs start like a case (a setup field) to get further.
        if i % 2:
            data = b"\x0a" + bytes([min(size, 127)]) + data
        path = os.path.join(tmp, "random%d.pb" % i)
        with open(path, "wb") as f:
            f.write(data)
        proc = subprocess.run([binary, "replay", path], capture_output=True)
        if proc.returncode == 0:
            ran += 1
        elif proc.returncode == 2 and b"shadowdiff:" in proc.stderr:
            refused += 1
        else:
            sys.stdout.write(proc.stdout.decode(errors="replace"))
            sys.stdout.write(proc.stderr.decode(errors="replace"))
            print("FAIL: exit status %d on input %s" % (proc.returncode, data.hex()))
            sys.exit(1)
print("random bytes: %d ran and agreed, %d refused with exit 2" % (ran, refused))
if ran == 0 or refused == 0:
    print("FAIL: expected both outcomes among %d inputs" % count)
    sys.exit(1)
