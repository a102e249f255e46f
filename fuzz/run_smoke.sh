#!/bin/sh
# run_smoke.sh FUZZER SEED_CORPUS SCRATCH RUNS: a bounded libFuzzer run that never writes
# into the committed seed corpus. The seed is fixed (FUZZ_SEED, default 1) so that CI is
# repeatable: long exploratory runs (CONTRIBUTING.md) find new inputs, which become seeds.
set -eu
rm -rf "$3"; mkdir -p "$3"
exec "$1" -seed="${FUZZ_SEED:-1}" -runs="$4" -max_total_time=60 -max_len=65536 -timeout=10 -rss_limit_mb=1024 \
  -print_final_stats=1 "$3" "$2"
