#!/bin/bash
# The WAF engine against its oracle: libmodsecurity 3 (Debian) and Mamori evaluate the same
# fixed sample of the DEV corpus (every 5th request) with Debian's CRS at paranoia levels 1
# and 2; tests/waf/compare.py checks that the same rule ids fire.
#   - every rule except detectSQLi/detectXSS (941100/941101/942100/942101) and the scores that
#     follow from them (949110, 980130): at least 99.5 % of the requests agree;
#   - all rules: at least 95 % (Mamori's SQL and HTML tokenizers are its own, not
#     libinjection; docs/waf.md lists how and why they differ).
# bench/waf/oracle_full.sh runs the whole corpus at every level.
#   oracle.sh ORACLE_BIN MAMORI_BIN SHARED_DIR WORK_DIR
set -euo pipefail
oracle=$1 mamori=$2 shared=$3 work=$4
here=$(cd "$(dirname "$0")" && pwd)
corpus=$shared/corpus/waf/dev.jsonl
[ -f "$corpus" ] || { echo "oracle.sh: no corpus at $corpus" >&2; exit 1; }
mkdir -p "$work"
python3 - "$corpus" "$work/sample.jsonl" <<'PY'
import sys
with open(sys.argv[1]) as f, open(sys.argv[2], "w") as o:
    for i, line in enumerate(f):
        if i % 5 == 0:
            o.write(line)
PY
detect=941100,941101,942100,942101,949110,980130
for pl in 1 2; do
  "$oracle" --paranoia "$pl" "$work/sample.jsonl" > "$work/oracle-pl$pl.jsonl"
  "$mamori" -q waf test --native none --no-policy --paranoia "$pl" --max-pl 99 --records "$work/mamori-pl$pl.jsonl" \
    "$work/sample.jsonl" > /dev/null
  echo "== paranoia level $pl, without the detectSQLi/detectXSS rules"
  python3 "$here/compare.py" "$work/oracle-pl$pl.jsonl" "$work/mamori-pl$pl.jsonl" \
    --ignore-rules "$detect" --min-agreement 0.995
  echo "== paranoia level $pl, all rules"
  python3 "$here/compare.py" "$work/oracle-pl$pl.jsonl" "$work/mamori-pl$pl.jsonl" \
    --min-agreement 0.95 --show 8
done
