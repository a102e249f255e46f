#!/bin/bash
# guard scan-log against fail2ban-regex (Debian 12's fail2ban 1.0.2, unpacked into .cache/ —
# never installed, no service, no firewall change) on the same generated 1M-line auth log.
#   bench/guard.sh [BUILD_DIR] [LINES]
# Prints lines/s of both, the ratio, peak memory, and both tools' detection per attacker class
# against the generator's ground truth (ip space "public" for prefix scores).
set -euo pipefail
build=${1:-build/release}
lines=${2:-1000000}
here=$(cd "$(dirname "$0")/.." && pwd)
shared=$here/../shared/bench/authlog
bin=$(readlink -f "$build/apps/mamori/mamori")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
python3 "$shared/gen_authlog.py" --lines "$lines" --ip-space public --out "$tmp/auth.log" \
  --truth "$tmp/truth.tsv" | tail -1
f2b=$here/.cache/fail2ban
if [ ! -x "$f2b/usr/bin/fail2ban-regex" ]; then
  d=$(mktemp -d); chmod 755 "$d"
  (cd "$d" && apt-get download -qq fail2ban >/dev/null 2>&1) && mkdir -p "$f2b" &&
    dpkg-deb -x "$d"/fail2ban_*.deb "$f2b" || echo "fail2ban could not be downloaded: no comparison"
  rm -rf "$d"
fi
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ts=()
for i in 1 2 3; do
  /usr/bin/time -f "%e %M" -o "$tmp/t" "$bin" guard scan-log "$tmp/auth.log" --year 2024 \
    --format json -o "$tmp/mamori.json" 2>/dev/null
  ts+=("$(cut -d' ' -f1 "$tmp/t")"); rss=$(cut -d' ' -f2 "$tmp/t")
done
m=$(printf '%s\n' "${ts[@]}" | median)
echo "mamori guard scan-log: median $m s (runs ${ts[*]}), $(awk -v n="$lines" -v t="$m" 'BEGIN{printf "%.2f", n/t/1e6}') M lines/s, peak RSS $rss KiB"
python3 - "$tmp/mamori.json" "$tmp/truth.tsv" <<'PY'
import collections, ipaddress, json, sys
doc = json.load(open(sys.argv[1]))
blamed, nets = set(), []
for a in doc["attackers"]:
    (nets.append(ipaddress.ip_network(a["address"])) if "/" in a["address"] else blamed.add(a["address"]))
    blamed.update(a["addresses"])
hit, tot = collections.Counter(), collections.Counter()
for line in open(sys.argv[2]):
    if line.startswith("#") or line.startswith("ip\t"): continue
    ip, _, label, cls, _, att = line.split("\t")[:6]
    if label == "attacker" and att == "0": continue
    tot[(label, cls)] += 1
    a = ipaddress.ip_address(ip)
    if ip in blamed or any(a in n for n in nets): hit[(label, cls)] += 1
print("mamori detection: " + ", ".join(f"{l}/{c} {hit[(l, c)]}/{tot[(l, c)]}" for l, c in sorted(tot)))
PY
if [ -x "$f2b/usr/bin/fail2ban-regex" ]; then
  export PYTHONPATH=$f2b/usr/lib/python3/dist-packages
  /usr/bin/time -f "%e %M" -o "$tmp/t" python3 "$f2b/usr/bin/fail2ban-regex" -o row \
    --config "$f2b/etc/fail2ban" "$tmp/auth.log" sshd > "$tmp/f2b.rows" 2>/dev/null || true
  ft=$(cut -d' ' -f1 "$tmp/t")
  echo "fail2ban-regex (sshd filter): $ft s, $(awk -v n="$lines" -v t="$ft" 'BEGIN{printf "%.0f", n/t}') lines/s, peak RSS $(cut -d' ' -f2 "$tmp/t") KiB"
  echo "ratio: mamori is $(awk -v a="$ft" -v b="$m" 'BEGIN{printf "%.0f", a/b}')x faster"
  python3 "$shared/eval_f2b.py" "$tmp/truth.tsv" < "$tmp/f2b.rows" | sed 's/^/fail2ban: /'
fi
# guard run's memory over a long life (unique user names, a sliding /8): flat once the window
# (25 h of log time) is full. GUARD_SERVICE_LINES=0 skips it.
svc_lines=${GUARD_SERVICE_LINES:-10000000}
if [ "$svc_lines" != 0 ] && [ -x "$build/bench/guard_service_bench" ]; then
  echo "guard run (GuardService) memory over $svc_lines lines:"
  "$build/bench/guard_service_bench" "$svc_lines"
fi
