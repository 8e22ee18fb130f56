// GPU micro-benchmarks at recommender shapes: batch 256, sequence 50, model dim 64 (so 12800
// activation rows of 64), item vocabularies of 4k and 100k. tools/bench/compare_torch_cuda.py runs
// this binary and the same workloads in PyTorch on the same GPU and prints the ratios.
//
// Timing: kernels run asynchronously, so a benchmark issues its calls back to back and waits for the
// GPU (cuda::synchronize) in the last iteration, before Google Benchmark stops the timer. The time
// per iteration is therefore the time per call when the GPU is kept busy, including the host's launch
// overhead where that is the bottleneck (as it is for PyTorch eager).
//
// Bandwidth: a benchmark that states the bytes a call must at least read and write reports bytes/s
// (SetBytesProcessed) and the count itself (counter "bytes_per_call"). The device-to-device copy of
// 256 MiB (counted as read + write) is the yardstick those rates are compared with.
//
// Without a GPU the binary prints "no CUDA device: <reason>" and exits 0.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <initializer_list>
#include <string>
#include <vector>

#include "core/cuda/memcpy.h"
#include "core/cuda/runtime.h"
#include "core/ops/copy.h"
#include "core/ops/matmul.h"
#include "recgrad.h"

using namespace recgrad;

namespace {

constexpr std::int64_t kBatch = 256, kSeq = 50, kDim = 64;
constexpr std::int64_t kRows = kBatch * kSeq;  // 12800 rows of activations
constexpr std::int64_t kSmallVocab = 4096, kLargeVocab = 100000;
constexpr double kFloat = sizeof(float), kIndex = sizeof(std::int64_t);
const Device kGpu = Device::cuda();

/// The shapes of the elementwise benchmarks: the activations, and item logits (100 MB, big enough
/// that the time is set by memory bandwidth, not by launch latency or the 50 MB L2 cache).
struct Matrix {
  std::int64_t rows, cols;
  std::string name() const { return std::to_string(rows) + "x" + std::to_string(cols); }
  double numel() const { return static_cast<double>(rows) * static_cast<double>(cols); }
};
constexpr Matrix kActivations{kRows, kDim}, kLogits{kBatch, kLargeVocab};

Tensor gpu_randn(const Shape& shape, std::uint64_t seed) {
  manual_seed(seed);
  return raw::to_device(randn(shape), kGpu);
}
Tensor gpu_randint(std::int64_t high, const Shape& shape, std::uint64_t seed) {
  manual_seed(seed);
  return raw::to_device(randint(0, high, shape), kGpu);
}
/// A leaf on the GPU that requires a gradient.
Tensor gpu_leaf(const Shape& shape, std::uint64_t seed) {
  Tensor t = gpu_randn(shape, seed);
  t.requires_grad_();
  return t;
}
/// Forgets the gradients of `leaves`, so every call of a forward+backward benchmark does the same
/// work (the first backward writes .grad, later ones would add to it). PyTorch: x.grad = None.
void clear_grads(std::initializer_list<Tensor> leaves) {
  for (const Tensor& leaf : leaves) leaf.set_grad(Tensor());
}

/// Times `step` (one call of the workload) as described at the top of the file: one warm-up call
/// (allocator cache, cuBLAS handle, module loading), then back-to-back calls with the GPU waited for
/// in the last iteration. A recgrad::Error (an op without a CUDA kernel yet, a failed kernel) marks
/// this benchmark as failed with the message; the others still run.
template <typename Step>
void time_on_gpu(benchmark::State& state, Step step, double bytes_per_call = 0) {
  try {
    step();
    cuda::synchronize();
    benchmark::IterationCount calls = 0;
    for (auto _ : state) {
      step();
      if (++calls == state.max_iterations) cuda::synchronize();
    }
  } catch (const Error& error) {
    state.SkipWithError(error.what());
    return;
  }
  if (bytes_per_call > 0) {
    state.SetBytesProcessed(static_cast<std::int64_t>(bytes_per_call * static_cast<double>(state.iterations())));
    state.counters["bytes_per_call"] = bytes_per_call;
  }
}

/// Registers `body` (a function of benchmark::State&) as benchmark `name`, timed in microseconds.
template <typename Body>
void add_benchmark(const std::string& name, Body body) {
  benchmark::RegisterBenchmark(name.c_str(), body)->Unit(benchmark::kMicrosecond);
}

/// Runs the matmul benchmarks with TF32 off (full f32) or on, and puts the setting back.
class Tf32Setting {
 public:
  explicit Tf32Setting(bool allow) : previous_(allow_tf32()) { set_allow_tf32(allow); }
  ~Tf32Setting() { set_allow_tf32(previous_); }
  Tf32Setting(const Tf32Setting&) = delete;
  Tf32Setting& operator=(const Tf32Setting&) = delete;

 private:
  bool previous_;
};

void register_elementwise() {
  for (const Matrix m : {kActivations, kLogits}) {
    add_benchmark("add/" + m.name(), [m](benchmark::State& state) {
      const Tensor a = gpu_randn({m.rows, m.cols}, 1), b = gpu_randn({m.rows, m.cols}, 2);
      time_on_gpu(
          state, [&] { return add(a, b); }, 3 * m.numel() * kFloat);
    });
    add_benchmark("mul/" + m.name(), [m](benchmark::State& state) {
      const Tensor a = gpu_randn({m.rows, m.cols}, 1), b = gpu_randn({m.rows, m.cols}, 2);
      time_on_gpu(
          state, [&] { return mul(a, b); }, 3 * m.numel() * kFloat);
    });
    add_benchmark("gelu/" + m.name(), [m](benchmark::State& state) {  // the exact (erf) form, as torch's default
      const Tensor x = gpu_randn({m.rows, m.cols}, 1);
      time_on_gpu(
          state, [&] { return gelu(x); }, 2 * m.numel() * kFloat);
    });
    add_benchmark("dropout/" + m.name(), [m](benchmark::State& state) {  // training mode, p = 0.1
      const Tensor x = gpu_randn({m.rows, m.cols}, 1);
      time_on_gpu(
          state, [&] { return dropout(x, 0.1, /*training=*/true); }, 2 * m.numel() * kFloat);
    });
  }
  // A strided copy: the transpose of the logits made dense.
  add_benchmark("contiguous_transposed/" + kLogits.name(), [](benchmark::State& state) {
    const Tensor x = gpu_randn({kLogits.rows, kLogits.cols}, 1);
    time_on_gpu(
        state, [&] { return raw::contiguous(transpose(x, 0, 1)); }, 2 * kLogits.numel() * kFloat);
  });
}

void register_reductions_and_softmax() {
  for (const Matrix m : {kActivations, kLogits}) {
    add_benchmark("sum_lastdim/" + m.name(), [m](benchmark::State& state) {
      const Tensor x = gpu_randn({m.rows, m.cols}, 1);
      time_on_gpu(
          state, [&] { return sum(x, {-1}); }, (m.numel() + static_cast<double>(m.rows)) * kFloat);
    });
    add_benchmark("softmax/" + m.name(), [m](benchmark::State& state) {
      const Tensor x = gpu_randn({m.rows, m.cols}, 1);
      time_on_gpu(
          state, [&] { return softmax(x, -1); }, 2 * m.numel() * kFloat);
    });
  }
  add_benchmark("topk10/" + kLogits.name(), [](benchmark::State& state) {  // the top 10 items per user
    const Tensor scores = gpu_randn({kLogits.rows, kLogits.cols}, 1);
    time_on_gpu(
        state, [&] { return topk(scores, 10, -1); }, kLogits.numel() * kFloat);
  });
}

void register_losses_and_norms() {
  // Forward + backward; the least traffic is reading the logits twice and writing their gradient.
  for (const Matrix m : {Matrix{kBatch, kSmallVocab}, Matrix{kBatch, kLargeVocab}, Matrix{kRows, kSmallVocab}}) {
    add_benchmark("cross_entropy_fwd_bwd/" + m.name(), [m](benchmark::State& state) {
      const Tensor logits = gpu_leaf({m.rows, m.cols}, 1);
      const Tensor targets = gpu_randint(m.cols, {m.rows}, 2);
      time_on_gpu(
          state,
          [&] {
            clear_grads({logits});
            cross_entropy(logits, targets).backward();
          },
          3 * m.numel() * kFloat);
    });
  }
  // Forward + backward over [256, 50, 64]: read x, write y; read g and x, write dx.
  add_benchmark("layer_norm_fwd_bwd/256x50x64", [](benchmark::State& state) {
    const Tensor x = gpu_leaf({kBatch, kSeq, kDim}, 1), weight = gpu_leaf({kDim}, 2), bias = gpu_leaf({kDim}, 3);
    const Tensor g = gpu_randn({kBatch, kSeq, kDim}, 4);
    time_on_gpu(
        state,
        [&] {
          clear_grads({x, weight, bias});
          layer_norm(x, {kDim}, weight, bias).backward(g);
        },
        5 * static_cast<double>(kRows * kDim) * kFloat);
  });
}

void register_indexing() {
  // A 100k x 64 item table looked up by 12800 ids. Forward: read the ids and the rows, write the
  // output; backward: read g, write the dense table gradient.
  add_benchmark("embedding_fwd_bwd/100000x64", [](benchmark::State& state) {
    const Tensor table = gpu_leaf({kLargeVocab, kDim}, 1);
    const Tensor ids = gpu_randint(kLargeVocab, {kBatch, kSeq}, 2);
    const Tensor g = gpu_randn({kBatch, kSeq, kDim}, 3);
    const double rows = static_cast<double>(kRows * kDim) * kFloat, table_bytes = kLargeVocab * kDim * kFloat;
    time_on_gpu(
        state,
        [&] {
          clear_grads({table});
          embedding(table, ids).backward(g);
        },
        kRows * kIndex + 3 * rows + table_bytes);
  });
  add_benchmark("index_select/100000x64", [](benchmark::State& state) {
    const Tensor table = gpu_randn({kLargeVocab, kDim}, 1);
    const Tensor ids = gpu_randint(kLargeVocab, {kRows}, 2);
    time_on_gpu(
        state, [&] { return index_select(table, 0, ids); },
        kRows * kIndex + 2 * static_cast<double>(kRows * kDim) * kFloat);
  });
  // The scores of 1000 sampled candidate items per user.
  add_benchmark("gather/" + kLogits.name(), [](benchmark::State& state) {
    constexpr std::int64_t kCandidates = 1000;
    const Tensor scores = gpu_randn({kLogits.rows, kLogits.cols}, 1);
    const Tensor candidates = gpu_randint(kLogits.cols, {kBatch, kCandidates}, 2);
    time_on_gpu(
        state, [&] { return gather(scores, 1, candidates); }, kBatch * kCandidates * (kIndex + 2 * kFloat));
  });
}

void register_matmul() {
  struct Gemm {
    std::int64_t m, k, n;
  };
  for (const Gemm s : {Gemm{kRows, kDim, kDim}, Gemm{kBatch, kDim, kLargeVocab}}) {
    for (const bool tf32 : {false, true}) {
      const std::string name = "matmul_" + std::string(tf32 ? "tf32" : "f32") + "/" + std::to_string(s.m) + "x" +
                               std::to_string(s.k) + "x" + std::to_string(s.n);
      add_benchmark(name, [s, tf32](benchmark::State& state) {
        const Tensor a = gpu_randn({s.m, s.k}, 1), b = gpu_randn({s.k, s.n}, 2);
        const Tf32Setting setting(tf32);
        const double bytes = static_cast<double>(s.m * s.k + s.k * s.n + s.m * s.n) * kFloat;
        time_on_gpu(
            state, [&] { return matmul(a, b); }, bytes);
      });
    }
  }
}

void register_optimizer_and_copy() {
  // One Adam step on a 100k x 64 embedding table: read p, g, m, v; write p, m, v.
  add_benchmark("adam_step/100000x64", [](benchmark::State& state) {
    const Tensor param = gpu_leaf({kLargeVocab, kDim}, 1);
    param.set_grad(gpu_randn({kLargeVocab, kDim}, 2));
    Adam optimizer(std::vector<Tensor>{param}, AdamOptions{.lr = 1e-3});
    time_on_gpu(
        state, [&] { optimizer.step(); }, 7 * kLargeVocab * kDim * kFloat);
  });
  // The yardstick: 256 MiB copied by the copy engine (cudaMemcpyAsync), counted as read + write.
  add_benchmark("copy_d2d/256MiB", [](benchmark::State& state) {
    constexpr std::size_t kBytes = std::size_t{256} << 20;
    const Tensor src = gpu_randn({static_cast<std::int64_t>(kBytes / sizeof(float))}, 1);
    const Tensor dst = Tensor::empty(src.shape(), src.dtype(), kGpu);
    time_on_gpu(
        state, [&] { cuda::copy_bytes(dst.device_pointer(), kGpu, src.device_pointer(), kGpu, kBytes, "copy_d2d"); },
        2.0 * static_cast<double>(kBytes));
  });
}

}  // namespace

int main(int argc, char** argv) {
  if (!cuda::cuda_available()) {
    std::printf("no CUDA device: %s\n", cuda::cuda_unavailable_reason().c_str());
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  register_optimizer_and_copy();  // the yardstick first
  register_elementwise();
  register_reductions_and_softmax();
  register_losses_and_norms();
  register_indexing();
  register_matmul();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
