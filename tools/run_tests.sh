#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs missing dependencies, builds
# the release configuration and runs every ctest (unit tests, gradchecks,
# PyTorch-fixture comparisons, the find_package consumer), then rebuilds the
# library and its core tests under AddressSanitizer + UndefinedBehaviorSanitizer
# (LeakSanitizer included) and runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

bash tools/setup_debian.sh

echo "== release build and full test suite =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== AddressSanitizer + UndefinedBehaviorSanitizer: core, autograd, nn, optim and datasets tests =="
# Host code only (nvcc device code is not instrumented, and the release build above compiled it already).
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRECGRAD_SANITIZE=ON -DRECGRAD_CUDA=OFF \
  -DRECGRAD_BUILD_TOOLS=OFF -DRECGRAD_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build-sanitize -j"$jobs" --target test_core test_autograd test_nn test_optim test_datasets
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-sanitize --output-on-failure -j"$jobs" -L "core|autograd|nn|optim|datasets"
