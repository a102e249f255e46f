#!/bin/bash
# mamori cloud audit's speed on one core: 10,000 bucket bundles (bench/cloud_policies.py: public
# reads, conditions on addresses, endpoints, organisations, Denies, service principals, ACLs,
# Block Public Access, websites) in ten files; RUNS runs (default 5), the best and the median
# in policies per second (the whole command: reading, parsing, deciding, the JSON report), and
# the verdicts. No peer runs here: checkov, Trivy and Custodian are not Debian packages.
#   bench/cloud.sh [BUILD_DIR]   (default build/ci)
set -euo pipefail
build=${1:-build/ci}
runs=${RUNS:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$(readlink -f "$build/apps/mamori/mamori") || true
[ -x "$bin" ] || { echo "bench/cloud: no mamori in $build (cmake --build $build first)"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$here/bench/cloud_policies.py" "$work" 10000
times=()
for _ in $(seq "$runs"); do
  start=$(date +%s.%N)
  # (exit 1: public buckets found, as planted)
  taskset -c 0 "$bin" -q --format json --fail-on high cloud audit "$work"/bundles-*.json \
    >"$work/out.json" || [ $? -eq 1 ] || { echo "bench/cloud: cloud audit failed"; exit 1; }
  end=$(date +%s.%N)
  times+=("$(echo "$end - $start" | bc)")
done
python3 - "$work/out.json" <<'EOF'
import collections, json, sys
d = json.load(open(sys.argv[1]))
print(len(d["resources"]), "buckets:", dict(collections.Counter(r["verdict"] for r in d["resources"])),
      "errors:", len(d["errors"]))
EOF
printf '%s\n' "${times[@]}" | sort -n | awk -v n="$runs" '
  NR==1{b=$1} NR==int((n+1)/2){m=$1}
  END{printf "10000 policies: best %.3f s (%.0f policies/s), median %.3f s (%.0f policies/s)\n", b, 10000/b, m, 10000/m}'
