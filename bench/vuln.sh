#!/bin/bash
# Vulnerability benchmarks: database size and build time from all of ../shared/data/vuln, the
# vulnerability part of `mamori scan` on this machine, the 10,000-package synthetic inventory
# (Google Benchmark, vuln_bench), peak memory, and the Python reference matcher on the same
# inputs in the same run.   usage: bench/vuln.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build/release}
shared=$(cd "$(dirname "$0")/../.." && pwd)/shared
data=$shared/data/vuln
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
bin=$build/apps/mamori/mamori
/usr/bin/python3 "$shared/bench/vuln/make_inputs.py" "$data" "$tmp/in" 10000 >/dev/null
all=("$data"/osv/*.jsonl "$data/kev/known_exploited_vulnerabilities.json" "$data/kev/epss_kev_nvd.csv"
     "$data/composer/friendsofphp-security-advisories.jsonl" "$data/wordpress/plugin-vulnerabilities-2015.json")
/usr/bin/time -f "db import: %e s, peak RSS %M KiB" "$bin" -q --db "$tmp/vuln.db" db import "${all[@]}" 2>&1 >/dev/null | grep -v '^warning' || true
echo "database size: $(stat -c %s "$tmp/vuln.db") bytes"
MAMORI_BENCH_DB=$tmp/vuln.db MAMORI_BENCH_SYNTH=$tmp/in/inv_synth10000.jsonl \
  /usr/bin/time -f "vuln_bench peak RSS %M KiB" "$build/bench/vuln_bench" --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true 2>&1 | grep -E "median|RSS|Benchmark"
export MAMORI_STATE_DIR=$tmp/state
"$bin" -q --db "$tmp/vuln.db" scan >/dev/null
hyperfine -N --warmup 3 --runs 20 "$bin -q --db $tmp/vuln.db scan" 2>/dev/null | grep -E "Time|Range"
/usr/bin/time -f "mamori scan peak RSS %M KiB" "$bin" -q --db "$tmp/vuln.db" scan 2>&1 >/dev/null | tail -1
echo "--- Python reference matcher (ref_match.py), same inputs:"


/usr/bin/time -f "ref_match peak RSS %M KiB, wall %e s" /usr/bin/python3 "$shared/bench/vuln/ref_match.py" --db "$data" --inventory "$tmp/in/inv_synth10000.jsonl" 2>&1 | tail -4
