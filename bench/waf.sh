#!/bin/bash
# The WAF engine against the anchor, in one run on this machine:
#   1. the anchor (../shared/bench/waf: nginx + ModSecurity 3.0.9 + CRS 3.3.4, one worker) is
#      started, and its worker CPU per request measured with wrk (cpu_per_req.sh) for the
#      plain proxy and CRS PL1/PL2 — ModSecurity's own cost is PL1 minus plain;
#   2. Mamori's engine CPU per request on the same two benign requests (waf_engine_bench);
#   3. on the wire: `mamori waf run` (one worker, CRS PL1, the anchor's backend behind it)
#      beside the anchor's plain proxy and its ModSecurity PL1 server, wrk rounds interleaved:
#      req/s of each, and the CPU per request of Mamori's process and of the nginx worker;
#      then the DEV corpus replayed over loopback (replay.py) through both at PL1;
#   4. the whole DEV corpus through libmodsecurity and through `mamori waf test` at paranoia
#      levels 1 to 4: rule-id agreement (tests/waf/compare.py) and detection per category.
#   bench/waf.sh [BUILD_DIR]   (default build/ci: the same optimisation as release, with the
#                              tests, which hold the oracle, tests/mamori_modsec_oracle)
#   ROUNDS=3 DUR=6s            the on-the-wire rounds (default three of 6 s each)
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

echo "== on the wire: wrk -t1 -c8, ${DUR:-6s} rounds (${ROUNDS:-3}), interleaved; CPU of the serving process"
port=38100
"$bin" -q waf run --listen 127.0.0.1:$port --upstream http://127.0.0.1:38090 --workers 1 \
  2> "$tmp/waf-run.err" &
wafpid=$!
trap 'kill $wafpid 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 1 100); do
  grep -q "listening on" "$tmp/waf-run.err" 2>/dev/null && break
  sleep 0.2
done
master=$(cat "$WAF_RUN_DIR/nginx.pid")
nginx_ticks() { local t=0; for p in $(pgrep -P "$master"); do
    set -- $(awk '{print $14, $15}' "/proc/$p/stat"); t=$((t + $1 + $2)); done; echo "$t"; }
mamori_ticks() { awk '{print $14 + $15}' "/proc/$wafpid/stat"; }
hz=$(getconf CLK_TCK)
printf "%-5s %-18s %10s %12s\n" wl target "req/s" "cpu_us/req"
for round in $(seq 1 "${ROUNDS:-3}"); do
  for wl in get post; do
    for target in plain:38080 modsec-pl1:38081 mamori-pl1:$port; do
      name=${target%%:*}; p=${target##*:}
      if [ "$name" = mamori-pl1 ]; then t0=$(mamori_ticks); else t0=$(nginx_ticks); fi
      out=$(wrk -t1 -c8 -d"${DUR:-6s}" -s "$shared/bench/waf/$wl.lua" "http://127.0.0.1:$p")
      if [ "$name" = mamori-pl1 ]; then t1=$(mamori_ticks); else t1=$(nginx_ticks); fi
      n=$(echo "$out" | awk '/requests in/ {print $1}')
      rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
      awk -v wl="$wl" -v tg="$name" -v r="$rps" -v n="$n" -v d=$((t1 - t0)) -v hz="$hz" \
        'BEGIN { printf "%-5s %-18s %10.0f %12.1f\n", wl, tg, r, (d/hz)*1e6/n }'
    done
  done
done
echo "== the DEV corpus over loopback at PL1 (replay.py --max-pl 1): ModSecurity, then Mamori"
python3 "$shared/bench/waf/replay.py" --port 38081 --max-pl 1 "$corpus" | tail -1
python3 "$shared/bench/waf/replay.py" --port $port --max-pl 1 "$corpus" | tail -1
kill $wafpid
wait $wafpid 2>/dev/null || true

for pl in 1 2 3 4; do
  echo "== paranoia level $pl: libmodsecurity vs mamori on $(wc -l < "$corpus") requests"
  "$oracle" --paranoia "$pl" "$corpus" > "$tmp/oracle.jsonl"
  "$bin" -q waf test --native none --no-policy --paranoia "$pl" --records "$tmp/mamori.jsonl" "$corpus" | tail -2
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
