#!/usr/bin/env bash
# Stages recgrad's Debian build dependencies (OpenBLAS, nlohmann/json, CLI11, GoogleTest, Google Benchmark) as
# plain files under .gpu_deps/ (git-ignored), for a GPU machine that has the CUDA Toolkit but no package
# access: carry .gpu_deps there and run `RECGRAD_DEPS_PREFIX=.gpu_deps/usr bash tools/gpu_check.sh`.
# Downloads the .deb files with apt-get (no install) and unpacks them with dpkg -x.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(libopenblas0-openmp libopenblas-openmp-dev libopenblas-dev nlohmann-json3-dev libcli11-dev libgtest-dev
          libgmock-dev libbenchmark-dev libbenchmark1debian libgfortran5)
rm -rf .gpu_deps && mkdir -p .gpu_deps/debs
(cd .gpu_deps/debs && apt-get download "${packages[@]}")
for deb in .gpu_deps/debs/*.deb; do dpkg -x "$deb" .gpu_deps; done
# The static OpenBLAS and LAPACK are not linked (the library links the shared OpenBLAS); dropping them keeps the
# folder under the 64 MiB a device run can carry.
rm -rf .gpu_deps/debs .gpu_deps/usr/share/doc .gpu_deps/usr/lib/x86_64-linux-gnu/openblas-openmp/*.a \
  .gpu_deps/usr/lib/x86_64-linux-gnu/openblas-openmp/liblapack*
echo "staged into .gpu_deps/usr ($(du -sh .gpu_deps | cut -f1))"
