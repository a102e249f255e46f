#!/usr/bin/env python3
"""The house rule of docs/architecture.md: no file in src/ over 700 lines, none in apps/ over
400 — a file a newcomer cannot hold in their head is split along its seams."""
import pathlib
import sys

root = pathlib.Path(sys.argv[1])
limits = {"src": 700, "apps": 400}
bad = []
for top, limit in limits.items():
    for p in sorted((root / top).rglob("*")):
        if p.suffix in (".cpp", ".h") and p.is_file():
            n = sum(1 for _ in p.open(encoding="utf-8", errors="replace"))
            if n > limit:
                bad.append(f"{p.relative_to(root)}: {n} lines (limit {limit})")
print("\n".join(bad) if bad else "every file within its limit")
sys.exit(1 if bad else 0)
