#!/bin/sh
# run_smoke.sh FUZZER SEED_CORPUS SCRATCH RUNS: a bounded libFuzzer run that never writes
# into the committed seed corpus.
set -eu
rm -rf "$3"; mkdir -p "$3"
exec "$1" -runs="$4" -max_total_time=60 -max_len=65536 -timeout=10 -rss_limit_mb=1024 \
  -print_final_stats=1 "$3" "$2"
