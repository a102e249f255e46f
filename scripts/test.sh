#!/bin/bash
# Installs what the tests need, builds (warnings are errors), and runs every test: the
# libFuzzer smoke runs (clang build), the full suite (GoogleTest, end-to-end CLI incl. the
# root-only ones, SQLite + a real PostgreSQL server, SARIF schema, HTML in headless Chromium),
# the unit suites again under ASan+UBSan, and finally the count of skipped tests (under CI=true a
# skip not listed in tests/allowed-skips.txt fails the run). Each stage prints its time.
set -euo pipefail
cd "$(dirname "$0")/.."
here=$(pwd)
jobs=$(nproc)
t0=$(date +%s)
stage() {  # stage NAME: the time since the previous stage, and in all
  local now; now=$(date +%s)
  printf '=== %-28s %4ds (total %4ds)\n' "$1" $((now - ${last:-$t0})) $((now - t0))
  last=$now
}
shared=${MAMORI_SHARED:-$here/../shared}
if [ ! -f "$shared/README.md" ]; then
  echo "test.sh: the shared test corpora are not at $shared (clone the project beside ../shared," >&2
  echo "         or set MAMORI_SHARED to where they are); without them the oracle tests cannot run" >&2
  exit 2
fi
scripts/install-deps.sh --test
stage "dependencies"
cmake --preset ci -DMAMORI_SHARED="$shared" >/dev/null
cmake --build --preset ci -j "$jobs"
stage "build (ci, -Werror)"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$jobs"
ctest --test-dir build/fuzz -L fuzz -j "$jobs" --output-on-failure
stage "fuzz build + smoke runs"
export MAMORI_SKIP_LOG=$here/build/ci/skips.log
rm -f "$MAMORI_SKIP_LOG"
ctest --preset ci -j "$jobs" --output-on-failure --output-junit "$here/build/ci/junit.xml"
stage "tests (ci)"
cmake --preset asan-ubsan -DMAMORI_SHARED="$shared" >/dev/null
cmake --build --preset asan-ubsan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --preset asan-ubsan -j "$jobs" --output-on-failure \
  -L 'core|inventory|store|vuln|fim|audit|guard|report|root|waf' \
  -E 'cli_e2e|report_(sarif|html)|waf_oracle' \
  --output-junit "$here/build/asan-ubsan/junit.xml"
stage "unit suites (ASan+UBSan)"
scripts/check-skips.py build/ci/junit.xml build/asan-ubsan/junit.xml --log "$MAMORI_SKIP_LOG"
stage "done"
