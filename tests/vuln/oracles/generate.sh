#!/bin/bash
# Generates the oracle pair files for the version-comparator tests (ctest fixture "oracles").
#   generate.sh OUT_DIR [N]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?output directory}
n=${2:-120000}
mkdir -p "$out"
/usr/bin/python3 "$here/gen_pep440.py" "$out/pep440.tsv" "$n" 440 &
node "$here/gen_semver.mjs" "$out/semver.tsv" "$n" 2020 &
php "$here/gen_composer.php" "$out" "$n" 1234 &
wait -n; wait -n; wait -n
wc -l "$out"/*.tsv
