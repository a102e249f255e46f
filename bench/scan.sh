#!/bin/bash
# End-to-end timing of `mamori scan` on this machine (SQLite store in a temp dir) with
# hyperfine; prints the median and the peak RSS.  usage: bench/scan.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build/release}
bin="$build/apps/mamori/mamori"
[ -x "$bin" ] || { echo "build first: cmake --preset release && cmake --build --preset release" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$bin" --store "$tmp/s.db" -q scan >/dev/null   # first scan creates the schema
hyperfine --warmup 3 --runs 30 -N "$bin --store $tmp/s.db -q scan" \
  "$bin -q inventory --format json" --export-json "$tmp/h.json" >/dev/null
python3 - "$tmp/h.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"{r['command']}: median {r['median']*1000:.1f} ms (min {r['min']*1000:.1f}, max {r['max']*1000:.1f})")
PY
/usr/bin/time -f "peak RSS of one scan: %M KiB" "$bin" --store "$tmp/s.db" -q scan >/dev/null
