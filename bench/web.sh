#!/bin/bash
# mamori web scan's speed on one core: Debian's WordPress, Debian's PHP applications (both
# unpacked by scripts/install-deps.sh --test) and the DEV shells; RUNS runs each (default 10),
# pinned to one core, the best and the median in files per second, and what each flags. The
# seconds are the scan's own (JSON "seconds": the walk, the reads and the judgement; not the
# process start). A shared machine's speed drifts: compare figures from the same run only.
#   bench/web.sh [BUILD_DIR]   (default build/ci)
set -euo pipefail
build=${1:-build/ci}
runs=${RUNS:-10}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$(readlink -f "$build/apps/mamori/mamori") || true
[ -x "$bin" ] || { echo "bench/web: no mamori in $build (cmake --build $build first)"; exit 1; }
for dir in "$here/.cache/wordpress/usr/share/wordpress" "$here/.cache/cleanphp" \
  "$(readlink -f "$here/../shared/corpus/webshell" || echo "$here/../shared/corpus/webshell")"; do
  [ -d "$dir" ] || { echo "bench/web: $dir missing (scripts/install-deps.sh --test)"; exit 1; }
  echo "== $dir"
  times=()
  for _ in $(seq "$runs"); do
    # (exit 1 is fine here: the DEV shells are suspects; anything else stops the bench)
    json=$(taskset -c 0 "$bin" -q web scan --no-dpkg --no-fim --format json "$dir") ||
      [ $? -eq 1 ] || { echo "bench/web: mamori web scan $dir failed"; exit 1; }
    times+=("$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["seconds"], d["files"], d["judged"], len(d["suspects"]))' <<<"$json")")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v n="$runs" '
    NR==1{b=$1; f=$2; j=$3; s=$4} NR==int((n+1)/2){m=$1}
    END{printf "%d files (%d judged), %d suspects; best %.3f s (%.0f files/s), median %.3f s (%.0f files/s)\n", f, j, s, b, f/b, m, f/m}'
done
