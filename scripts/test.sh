#!/usr/bin/env bash
# Builds bitjit and runs the whole test suite (reads the golden data in ../shared).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
ctest --test-dir build --output-on-failure --parallel "$(nproc)" --timeout 900
