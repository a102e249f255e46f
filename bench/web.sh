#!/bin/bash
# mamori web scan's speed on one core: Debian's WordPress, Debian's PHP applications (both
# unpacked by scripts/install-deps.sh --test) and the DEV shells; five runs each, the best and
# the slowest of them, files per second, and what each flags.
#   bench/web.sh [BUILD_DIR]   (default build/ci)
set -euo pipefail
build=${1:-build/ci}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$(readlink -f "$build/apps/mamori/mamori")
for dir in "$here/.cache/wordpress/usr/share/wordpress" "$here/.cache/cleanphp" \
  "$(readlink -f "$here/../shared/corpus/webshell")"; do
  [ -d "$dir" ] || { echo "bench/web: $dir missing (scripts/install-deps.sh --test)"; exit 1; }
  echo "== $dir"
  times=()
  for _ in 1 2 3 4 5; do
    line=$(taskset -c 0 "$bin" -q web scan --no-dpkg --no-fim "$dir" | tail -1)
    times+=("$(grep -o 'in [0-9.]* s' <<<"$line" | cut -d' ' -f2)")
  done
  echo "$line"
  files=$(grep -o '^[0-9]* files' <<<"$line" | cut -d' ' -f1)
  printf '%s\n' "${times[@]}" | sort -n | awk -v f="$files" \
    'NR==1{b=$1} {w=$1} END{printf "best %.2f s (%.0f files/s), slowest %.2f s\n", b, f/b, w}'
done
