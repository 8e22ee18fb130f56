#!/usr/bin/env bash
# gpu_check.sh: everything recgrad checks on an NVIDIA GPU, in one call that fits 9 minutes on one H100 with
# 16 cores. Steps (each with its own time limit, skipped when the remaining budget cannot hold it):
#   build       CUDA build of the library, the CUDA tests, the GPU benchmark and recbench
#   tests       the CUDA suite (CPU-vs-CUDA parity of every op and layer, determinism, runtime)
#   memcheck    compute-sanitizer memcheck on a subset of the CUDA suite
#   racecheck   compute-sanitizer racecheck on the kernels that use shared memory
#   bench       GPU benchmarks against PyTorch eager, as time ratios (recgrad / torch)
#   recbench    a short recbench --device cuda run
# and writes a summary (pass/fail per step, the benchmark ratios) to $OUT/gpu_check/summary.md
# (OUT defaults to ./gpu_check_out). Without a GPU it says so and exits 0.
#
#   bash tools/gpu_check.sh                 # on the GPU machine, from the repository root
#   RECGRAD_DEPS_PREFIX=.gpu_deps/usr bash tools/gpu_check.sh   # build dependencies staged by stage_gpu_deps.sh
set -uo pipefail
cd "$(dirname "$0")/.."

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L 2>/dev/null | grep -q "^GPU"; then
  echo "gpu_check: no NVIDIA GPU on this machine (nvidia-smi finds none); nothing to check"
  exit 0
fi

budget_s=${GPU_CHECK_BUDGET_S:-540}
start_s=$(date +%s)
out_dir="${OUT:-gpu_check_out}/gpu_check"
mkdir -p "$out_dir"
summary="$out_dir/summary.md"
build_dir=${GPU_CHECK_BUILD_DIR:-build-gpu}
export PATH="/usr/local/cuda/bin:$PATH"
jobs=$(nproc)

{
  echo "# gpu_check $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "- revision: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "- GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1)"
  echo "- nvcc: $(nvcc --version 2>/dev/null | tail -1)"
  echo "- cores: $jobs"
  echo
  echo "| step | result | seconds | log |"
  echo "|---|---|---|---|"
} >"$summary"

failed=0
# step NAME LIMIT_S COMMAND...: runs COMMAND with a time limit, logs to $out_dir/NAME.log, adds a summary row.
step() {
  local name=$1 limit=$2
  shift 2
  local left=$((budget_s - ($(date +%s) - start_s)))
  if ((left < limit / 2)); then
    echo "| $name | skipped (${left}s of the budget left, step needs up to ${limit}s) | 0 | |" >>"$summary"
    echo "gpu_check: $name skipped: out of time"
    return 1
  fi
  ((limit > left)) && limit=$left
  echo "gpu_check: $name (limit ${limit}s)"
  local t0 result
  t0=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" >"$out_dir/$name.log" 2>&1
  local rc=$?
  if ((rc == 0)); then
    result=pass
  elif ((rc == 124 || rc == 137)); then
    result="TIMEOUT after ${limit}s"
  else
    result="FAIL (exit $rc)"
  fi
  [[ $result == pass ]] || failed=1
  echo "| $name | $result | $(($(date +%s) - t0)) | $name.log |" >>"$summary"
  echo "gpu_check: $name: $result"
  [[ $result == pass ]]
}

cmake_args=(-DCMAKE_BUILD_TYPE=Release -DRECGRAD_CUDA=ON -DRECGRAD_BUILD_TESTS=ON -DRECGRAD_BUILD_TOOLS=ON
            -DRECGRAD_BUILD_BENCHMARKS=ON)
if [[ -n ${RECGRAD_DEPS_PREFIX:-} ]]; then
  prefix=$(realpath "$RECGRAD_DEPS_PREFIX")
  cmake_args+=("-DCMAKE_PREFIX_PATH=$prefix;$prefix/lib/x86_64-linux-gnu/cmake" "-DCMAKE_INCLUDE_PATH=$prefix/include"
               "-DCMAKE_LIBRARY_PATH=$prefix/lib/x86_64-linux-gnu;$prefix/lib/x86_64-linux-gnu/openblas-openmp")
  export LD_LIBRARY_PATH="$prefix/lib/x86_64-linux-gnu:$prefix/lib/x86_64-linux-gnu/openblas-openmp:${LD_LIBRARY_PATH:-}"
fi

build() {
  cmake -S . -B "$build_dir" "${cmake_args[@]}" &&
    cmake --build "$build_dir" -j"$jobs" --target test_cuda bench_cuda recbench
}

if step build 240 build; then
  step tests 100 "$build_dir/tests/test_cuda" --gtest_brief=1
  # Sanitizers slow kernels 10-100x: a subset that still launches every kernel family once at small sizes.
  sanitizer_filter='*Elementwise*:*Reduce*:*Softmax*:*Index*:*Norm*:*Loss*:*Optim*:*Attention*:*Gru*:*Conv*:*Matmul*:*Topk*:*Random*'
  if command -v compute-sanitizer >/dev/null 2>&1; then
    step memcheck 70 compute-sanitizer --tool memcheck --error-exitcode 1 --leak-check full \
      "$build_dir/tests/test_cuda" --gtest_brief=1 "--gtest_filter=$sanitizer_filter"
    step racecheck 50 compute-sanitizer --tool racecheck --error-exitcode 1 \
      "$build_dir/tests/test_cuda" --gtest_brief=1 '--gtest_filter=*Reduce*:*Softmax*:*Attention*:*Norm*'
  else
    echo "| memcheck, racecheck | skipped (no compute-sanitizer on PATH) | 0 | |" >>"$summary"
  fi
  step bench 75 python3 tools/bench/compare_torch_cuda.py --binary "$build_dir/tools/bench_cuda" --min_time 0.05
  step recbench 45 "$build_dir/tools/recbench" --device cuda --protocol fixed --models sasrec,gru4rec --optimizers adamw,muon \
    --max-epochs 2 --synthetic-users 2000 --synthetic-items 800 --out "$out_dir/recbench"
fi

{
  echo
  if [[ -f "$out_dir/tests.log" ]]; then
    echo "## CUDA tests"
    echo
    echo '```'
    grep -E "^\[  (PASSED|FAILED|SKIPPED) |tests? ran|FAILED  \]" "$out_dir/tests.log" | tail -40
    echo '```'
  fi
  if [[ -f "$out_dir/bench.log" ]]; then
    echo
    echo "## Benchmarks against PyTorch (ratio = recgrad time / torch time; below 1 is faster)"
    echo
    echo '```'
    cat "$out_dir/bench.log"
    echo '```'
  fi
  if [[ -f "$out_dir/recbench.log" ]]; then
    echo
    echo "## recbench --device cuda"
    echo
    echo '```'
    tail -15 "$out_dir/recbench.log"
    echo '```'
  fi
  echo
  echo "total: $(($(date +%s) - start_s)) s; $([[ $failed == 0 ]] && echo "every step passed" || echo "SOME STEPS FAILED")"
} >>"$summary"
cat "$summary"
exit $failed
