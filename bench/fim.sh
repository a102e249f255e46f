#!/bin/bash
# FIM benchmark against Debian's AIDE on the same tree in the same run (warm page cache).
#   bench/fim.sh [BUILD_DIR] [TREE]   (TREE default: a 100,000-file, 2.5 GB tree from
#                                      ../shared/bench/fim/mktree.sh, created when missing)
# AIDE: sha256 with p+u+g+s+m+c+i+n, as in the issue, at its best: as many workers (--workers)
# as Mamori has hashing threads (FIM_BENCH_THREADS, default every core). Medians of 3 runs;
# peak RSS of one.
# The floor (build/…/bench/fim_floor: open, fstat, flistxattr, read, SHA-256, close of every file
# on 2 threads, nothing recorded) runs in the same run: init's overhead is a ratio to it.
# FIM_BENCH_USR=1 also times init/check of this machine's /usr against its floor.
set -euo pipefail
build=${1:-build/release}
tree=${2:-/tmp/mamori-fim-tree}
shared=$(cd "$(dirname "$0")/../.." && pwd)/shared
bin=$(readlink -f "$build/apps/mamori/mamori")
[ -d "$tree" ] || bash "$shared/bench/fim/mktree.sh" "$tree" 100000 2500 42 | tail -1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export MAMORI_STATE_DIR=$tmp/state
threads=${FIM_BENCH_THREADS:-$(nproc)}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
run3() {  # label, command...
  local label=$1; shift
  local ts=()
  for i in 1 2 3; do
    /usr/bin/time -f "%e %M" -o "$tmp/t" "$@" >/dev/null 2>&1 || true
    ts+=("$(cut -d' ' -f1 "$tmp/t")")
    rss=$(cut -d' ' -f2 "$tmp/t")
  done
  printf '%-34s median %6.2f s   (runs: %s)   peak RSS %s KiB\n' "$label" "$(printf '%s\n' "${ts[@]}" | median)" "${ts[*]}" "$rss"
}
find "$tree" -type f -print0 | xargs -0 cat > /dev/null   # warm the page cache
echo "tree: $tree ($(find "$tree" -type f | wc -l) files, $(du -sh "$tree" | cut -f1)); $threads threads each"
floor=$(dirname "$bin")/../../bench/fim_floor
find "$tree" -type f > "$tmp/files"
[ -x "$floor" ] && run3 "floor (fim_floor, $threads threads)" "$floor" "$tmp/files" "$threads"
run3 "mamori fim init (sha256)" "$bin" -q fim init --threads "$threads" --baseline "$tmp/m.baseline" --force "$tree"
run3 "mamori fim check (default)" "$bin" -q --store "$tmp/s.db" fim check --threads "$threads" --baseline "$tmp/m.baseline"
run3 "mamori fim check --full" "$bin" -q --store "$tmp/s.db" fim check --full --threads "$threads" --baseline "$tmp/m.baseline"
run3 "mamori fim init --threads 1" "$bin" -q fim init --threads 1 --baseline "$tmp/m1.baseline" --force "$tree"
# Day one without a baseline: every packaged file against dpkg's checksums, vs dpkg --verify.
run3 "mamori fim packages (this host)" "$bin" -q --store "$tmp/p.db" fim packages
run3 "dpkg --verify (this host)" dpkg --verify
"$(dirname "$bin")/../../bench/fim_bench" 2>/dev/null | grep BM_ || true
if [ "${FIM_BENCH_USR:-0}" = 1 ]; then
  find /usr -xdev -type f > "$tmp/usr-files"
  xargs -d '\n' -a "$tmp/usr-files" cat > /dev/null 2>&1 || true  # warm
  [ -x "$floor" ] && run3 "floor /usr" "$floor" "$tmp/usr-files" 2
  run3 "mamori fim init /usr" "$bin" -q fim init --baseline "$tmp/u.baseline" --force /usr
  run3 "mamori fim check /usr" "$bin" -q --store "$tmp/s.db" fim check --baseline "$tmp/u.baseline"
fi
if command -v aide >/dev/null; then
  cat > "$tmp/aide.conf" <<CONF
database_in=file:$tmp/aide.db
database_out=file:$tmp/aide.db.new
Checks = p+u+g+s+m+c+i+n+sha256
$tree Checks
CONF
  v=$(aide --version 2>&1 | head -1 | awk '{print $2}')
  run3 "aide --init ($v, --workers $threads)" aide --init --workers "$threads" -c "$tmp/aide.conf"
  cp "$tmp/aide.db.new" "$tmp/aide.db"
  run3 "aide --check (--workers $threads)" aide --check --workers "$threads" -c "$tmp/aide.conf"
  run3 "aide --init (--workers 1)" aide --init --workers 1 -c "$tmp/aide.conf"
else
  echo "aide not installed (apt-get install aide): no comparison"
fi
