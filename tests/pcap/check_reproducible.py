#!/usr/bin/env python3
"""Re-runs generate.py into a temporary root and checks that every file it
writes is byte-identical to the committed one, and that no committed capture is
missing from its output: the generator is the captures' source of truth.

    check_reproducible.py SCAPY_PYTHON

SCAPY_PYTHON: an interpreter that can import scapy (Debian python3-scapy).
"""
import filecmp
import glob
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def main():
    if len(sys.argv) != 2 or not sys.argv[1] or sys.argv[1].endswith("NOTFOUND"):
        sys.exit("FAIL: no Python interpreter with scapy found; install python3-scapy (scripts/deps) "
                 "and re-run cmake")
    python = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([python, os.path.join(HERE, "generate.py"), tmp], check=True)
        written = sorted(os.path.relpath(p, tmp) for p in glob.glob(os.path.join(tmp, "**", "*"), recursive=True)
                         if os.path.isfile(p))
        committed = sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(HERE, "*.pcap")))
        problems = [f"{c}: committed but no longer generated" for c in committed if c not in written]
        for rel in written:
            if not os.path.exists(os.path.join(ROOT, rel)):
                problems.append(f"{rel}: generated but not committed")
            elif not filecmp.cmp(os.path.join(tmp, rel), os.path.join(ROOT, rel), shallow=False):
                problems.append(f"{rel}: differs from the generator's output")
    if problems:
        print("FAIL: the committed captures are not what tests/pcap/generate.py writes "
              "(re-run it and commit the result):")
        for p in problems:
            print("  " + p)
        sys.exit(1)
    print(f"{len(written)} files reproduced byte for byte: {', '.join(written)}")


if __name__ == "__main__":
    main()
