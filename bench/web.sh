#!/bin/bash
# mamori web scan's speed on one core: Debian's WordPress (unpacked by
# scripts/install-deps.sh --test) and the DEV shells, five runs each, and what each flags.
#   bench/web.sh [BUILD_DIR]   (default build/ci)
set -euo pipefail
build=${1:-build/ci}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$(readlink -f "$build/apps/mamori/mamori")
wp=$here/.cache/wordpress/usr/share/wordpress
shells=$here/../shared/corpus/webshell
for dir in "$wp" "$shells"; do
  echo "== $dir"
  for _ in 1 2 3 4 5; do
    taskset -c 0 "$bin" -q web scan --no-dpkg "$dir" | tail -1
  done
done
