#!/usr/bin/env bash
# Builds the GGUF reader's libFuzzer target with clang-14, ASan and UBSan in ./build-fuzz, writes
# a seed corpus of small valid files (from our GGUF writer) into a temporary folder, and fuzzes.
# usage: scripts/fuzz.sh [RUNS] [more libFuzzer flags]   (RUNS defaults to 1000000; -1 = forever)
# Crash inputs land in the printed work folder; reproduce one with build-fuzz/fuzz/gguf_fuzz FILE.
# The plan loader's target (issue 15: Model::LoadPlan on edited plans of tiny synthetic models):
#   cmake --build build-fuzz --target plan_fuzz && mkdir -p /tmp/plan-corpus &&
#   build-fuzz/fuzz/plan_fuzz -runs=1000000 -workers=1 -timeout=10 /tmp/plan-corpus
#   (fuzz/README.md: what it edits, its speed, how to reproduce a finding.)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-1000000}"
shift || true

CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DBITJIT_FUZZ=ON -DBITJIT_BUILD_TESTS=OFF -DBITJIT_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz --target gguf_fuzz gguf_fuzz_seeds --parallel "${BITJIT_JOBS:-2}"

work="$(mktemp -d "${TMPDIR:-/tmp}/bitjit-fuzz.XXXXXX")"
mkdir -p "$work/seeds" "$work/corpus"
build-fuzz/fuzz/gguf_fuzz_seeds "$work/seeds"
echo "fuzz: work folder $work"

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
build-fuzz/fuzz/gguf_fuzz -runs="$runs" -max_len=8192 -dict=fuzz/gguf.dict \
  -artifact_prefix="$work/" -print_final_stats=1 "$@" "$work/corpus" "$work/seeds"
