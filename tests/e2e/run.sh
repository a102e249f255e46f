#!/bin/bash
# ctest entry for report checks with real consumers.
#   run.sh sarif   scan fixture trees, validate the SARIF against the official schema (ajv)
#   run.sh html    render an HTML report and drive it in headless Chromium (playwright-core)
# Needs: node, the packages of tests/e2e/package-lock.json (npm ci), chromium.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mode=${1:?sarif|html}
: "${MAMORI_BIN:?}" "${MAMORI_FIXTURES:?}" "${E2E_WORK:?}"
if [ ! -d "$here/node_modules/playwright-core" ]; then
  echo "tests/e2e/node_modules missing: run 'scripts/install-deps.sh --test' (npm ci)" >&2
  exit 1
fi
work="$E2E_WORK/$mode.$$"
rm -rf "$work"; mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
store="$work/store.db"
export MAMORI_STATE_DIR="$work/state"   # hermetic: not the host's /var/lib/mamori
root="$work/debian10"
cp -a "$MAMORI_FIXTURES/inventory/debian10" "$root"
# Password guessing an hour ago: the guard module's findings go through every sink too.
t=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%S+00:00)
for i in 1 2 3 4 5 6 7 8; do
  echo "$t shop01 sshd[$((4000 + i))]: Failed password for root from 198.51.100.77 port $((50000 + i)) ssh2"
done > "$root/var/log/auth.log"
m() { "$MAMORI_BIN" --store "$store" -q "$@"; }
# Two scans with an owner and an acceptance in between, so every state and owner appears.
m --root "$root" scan >/dev/null
m owners set 'pkg:deb/*openssh*' vendor-x
m owners set 'pkg:deb/*xrdp*' vendor-x
fp=$(m --host shop01 --format json findings list | python3 -c 'import json,sys; print([f["fingerprint"] for f in json.load(sys.stdin)["findings"] if f["check"]=="os-end-of-support"][0])')
m --host shop01 findings accept "$fp" --reason "migration booked"
case "$mode" in
  sarif)
    m --root "$root" --format sarif -o "$work/debian10.sarif" scan
    grep -q '"ruleId": "guard/brute-force"' "$work/debian10.sarif"
    m --format sarif -o "$work/guard-scan-log.sarif" guard scan-log "$root/var/log/auth.log"
    grep -q '"ruleId": "guard/brute-force"' "$work/guard-scan-log.sarif"
    for fx in alma9 alpine; do
      "$MAMORI_BIN" -q --store "$work/$fx.db" --root "$MAMORI_FIXTURES/inventory/$fx" --format sarif \
        -o "$work/$fx.sarif" scan
    done
    node "$here/validate-sarif.mjs" "${MAMORI_SHARED:-$here/../../../shared}/data/schemas/sarif-schema-2.1.0.json" \
      "$work"/*.sarif
    ;;
  html)
    m --root "$root" --format html -o "$work/report.html" scan
    grep -q 'Password guessing from 198.51.100.77' "$work/report.html"
    node "$here/html-check.mjs" "$work/report.html"
    ;;
  *) echo "unknown mode $mode" >&2; exit 2 ;;
esac
