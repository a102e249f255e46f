#!/usr/bin/env python3
"""Counts the tests that skipped instead of running, and under CI fails on any that
tests/allowed-skips.txt does not list (with its reason): a test that skips has not passed.
  check-skips.py JUNIT.xml... [--log SKIPLOG]...
JUNIT files are ctest's --output-junit (GoogleTest skips, GTEST_SKIP, show there); SKIPLOG
files are written by the Python end-to-end tests (MAMORI_SKIP_LOG)."""
import os
import sys
import xml.etree.ElementTree as ET

here = os.path.dirname(os.path.abspath(__file__))
allowed_file = os.path.join(here, "..", "tests", "allowed-skips.txt")
allowed = {}
for line in open(allowed_file, encoding="utf-8"):
    line = line.rstrip("\n")
    if not line or line.startswith("#"):
        continue
    name, _, reason = line.partition("\t")
    if not reason.strip():
        sys.exit(f"check-skips: {allowed_file}: '{name}' has no reason")
    allowed[name.strip()] = reason.strip()

skipped = []  # (name, why)
args = sys.argv[1:]
i = 0
while i < len(args):
    if args[i] == "--log":
        path = args[i + 1]
        i += 2
        if os.path.exists(path):
            for line in open(path, encoding="utf-8"):
                name, _, why = line.rstrip("\n").partition("\t")
                skipped.append((name, why))
        continue
    path = args[i]
    i += 1
    for tc in ET.parse(path).getroot().iter("testcase"):
        status = tc.get("status", "")
        if tc.find("skipped") is not None or status in ("notrun", "disabled", "skipped"):
            out = tc.findtext("system-out") or ""
            why = next((l.strip() for l in out.splitlines() if "Skipped" in l or "SKIP" in l), status)
            skipped.append((tc.get("name", "?"), why[:200]))

ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
print(f"skipped tests: {len(skipped)}" + (" (none allowed to skip under CI unless listed in "
                                          "tests/allowed-skips.txt)" if ci else ""))
bad = []
for name, why in skipped:
    ok = name in allowed
    print(f"  {'allowed' if ok else 'SKIPPED'}  {name}: {why}")
    if not ok:
        bad.append(name)
if ci and bad:
    print(f"check-skips: {len(bad)} tests skipped under CI without being allowed: a skip is not a pass")
    sys.exit(1)
