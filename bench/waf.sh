#!/bin/bash
# The WAF engine against the anchor, in one run on this machine:
#   1. the anchor (../shared/bench/waf: nginx + ModSecurity 3.0.9 + CRS 3.3.4, one worker) is
#      started, and its worker CPU per request measured with wrk (cpu_per_req.sh) for the
#      plain proxy and CRS PL1/PL2 — ModSecurity's own cost is PL1 minus plain;
#   2. Mamori's engine CPU per request on the same two benign requests (waf_engine_bench);
#   3. the whole DEV corpus through libmodsecurity and through `mamori waf test` at paranoia
#      levels 1 to 4: rule-id agreement (tests/waf/compare.py) and detection per category.
# Until `mamori waf run` exists (next slice) Mamori is measured offline, without HTTP I/O.
#   bench/waf.sh [BUILD_DIR]   (default build/ci: the same optimisation as release, with the
#                              tests, which hold the oracle, tests/mamori_modsec_oracle)
set -euo pipefail
build=${1:-build/ci}
here=$(cd "$(dirname "$0")/.." && pwd)
shared=$here/../shared
bin=$(readlink -f "$build/apps/mamori/mamori")
oracle=$(readlink -f "$build/tests/mamori_modsec_oracle")
tmp=$(mktemp -d)
export WAF_RUN_DIR=$tmp/anchor
cleanup() { "$shared/bench/waf/stop.sh" >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap cleanup EXIT
echo "== anchor: nginx worker CPU per request (wrk, 8 s each)"
"$shared/bench/waf/start.sh" >/dev/null
"$shared/bench/waf/cpu_per_req.sh" 8s 8
echo "== mamori: engine CPU per request (no HTTP I/O)"
"$build/bench/waf_engine_bench" --benchmark_min_time=3 2>/dev/null | grep BM_
corpus=$shared/corpus/waf/dev.jsonl
for pl in 1 2 3 4; do
  echo "== paranoia level $pl: libmodsecurity vs mamori on $(wc -l < "$corpus") requests"
  "$oracle" --paranoia "$pl" "$corpus" > "$tmp/oracle.jsonl"
  "$bin" -q waf test --paranoia "$pl" --records "$tmp/mamori.jsonl" "$corpus" | tail -2
  python3 "$here/tests/waf/compare.py" "$tmp/oracle.jsonl" "$tmp/mamori.jsonl" --show 6
  python3 - "$corpus" "$tmp/oracle.jsonl" "$tmp/mamori.jsonl" "$pl" <<'PY'
import collections, json, sys
corpus, oracle, mamori, pl = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
o = {json.loads(l)["id"]: json.loads(l) for l in open(oracle)}
m = {json.loads(l)["id"]: json.loads(l) for l in open(mamori)}
cat = collections.defaultdict(lambda: [0, 0, 0])
for line in open(corpus):
    r = json.loads(line)
    if r["id"] not in o or r["id"] not in m or (r.get("crs_pl") or 0) > pl:
        continue
    acc = r.get("accept_status") or [403]
    k = (r["expect"], r["category"])
    cat[k][0] += 1
    cat[k][1] += o[r["id"]]["status"] in acc
    cat[k][2] += m[r["id"]]["blocked"]
print("%-6s %-18s %6s %10s %10s" % ("expect", "category", "n", "modsec", "mamori"))
for (e, c), (n, a, b) in sorted(cat.items()):
    print("%-6s %-18s %6d %9.1f%% %9.1f%%" % (e, c, n, 100 * a / n, 100 * b / n))
PY
done
