#!/bin/bash
# Installs what the tests need, builds (warnings are errors), and runs every test:
# the libFuzzer smoke runs (clang build) and the full suite (GoogleTest, end-to-end CLI,
# SQLite + a real PostgreSQL server, SARIF schema, HTML in headless Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
scripts/install-deps.sh --test
cmake --preset ci >/dev/null
cmake --build --preset ci -j "$jobs"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$jobs"
ctest --test-dir build/fuzz -L fuzz -j "$jobs" --output-on-failure
ctest --preset ci -j "$jobs" --output-on-failure
