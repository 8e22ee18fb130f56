// Convolution and pooling benchmarks (forward + backward) at Caser's shapes: batch 256, sequence L = 10,
// embedding d = 64, 16 horizontal filters per height h = 1..10 (kernel (h, d)) and 4 vertical filters
// (kernel (L, 1)), plus a generic 3x3 convolution and a 2x2 max pooling. Linked into bench_ops;
// tools/bench/compare_torch_layers_conv.py runs the same workloads in PyTorch and prints the ratios.
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "autograd/ops/pooling.h"
#include "nn/conv.h"
#include "recgrad.h"

using namespace recgrad;

namespace {

constexpr std::int64_t kBatch = 256, kSeq = 10, kDim = 64, kHorizontal = 16, kVertical = 4;

/// Caser's convolution block: y = cat(max_t relu(conv_h(x)) for h = 1..L, flatten(conv_v(x))).
struct CaserConvolutions {
  std::vector<std::unique_ptr<nn::Conv2d>> horizontal;
  nn::Conv2d vertical{1, kVertical, {kSeq, 1}};

  CaserConvolutions() {
    for (std::int64_t h = 1; h <= kSeq; ++h)
      horizontal.push_back(std::make_unique<nn::Conv2d>(1, kHorizontal, std::array<std::int64_t, 2>{h, kDim}));
  }
  Tensor operator()(const Tensor& x) const {  // x [B, 1, L, d] -> [B, L * 16 + 4 * d]
    std::vector<Tensor> parts;
    for (const auto& conv : horizontal) parts.push_back(global_max_pool(squeeze(relu((*conv)(x)), 3), -1));
    parts.push_back(reshape(vertical(x), {x.size(0), -1}));
    return cat(parts, 1);
  }
  void zero_grad() {
    for (auto& conv : horizontal) conv->zero_grad();
    vertical.zero_grad();
  }
};

void BM_caser_conv_train(benchmark::State& state) {  // the whole block, forward + backward
  manual_seed(0);
  CaserConvolutions block;
  Tensor x = randn({kBatch, 1, kSeq, kDim}).requires_grad_();
  const Tensor g = randn({kBatch, kSeq * kHorizontal + kVertical * kDim});
  for (auto _ : state) {
    block.zero_grad();
    x.set_grad(Tensor());
    block(x).backward(g);
  }
}
BENCHMARK(BM_caser_conv_train)->Unit(benchmark::kMicrosecond);

void BM_caser_conv_inference(benchmark::State& state) {
  manual_seed(0);
  CaserConvolutions block;
  const Tensor x = randn({kBatch, 1, kSeq, kDim});
  for (auto _ : state) {
    NoGradGuard no_grad;
    benchmark::DoNotOptimize(block(x));
  }
}
BENCHMARK(BM_caser_conv_inference)->Unit(benchmark::kMicrosecond);

void BM_conv2d_caser_horizontal(benchmark::State& state) {  // one height, forward + backward
  manual_seed(0);
  const std::int64_t h = state.range(0);
  nn::Conv2d conv(1, kHorizontal, {h, kDim});
  Tensor x = randn({kBatch, 1, kSeq, kDim}).requires_grad_();
  const Tensor g = randn({kBatch, kHorizontal, kSeq - h + 1, 1});
  for (auto _ : state) {
    conv.zero_grad();
    x.set_grad(Tensor());
    conv(x).backward(g);
  }
}
BENCHMARK(BM_conv2d_caser_horizontal)->Arg(1)->Arg(5)->Arg(10)->Unit(benchmark::kMicrosecond);

void BM_conv2d_caser_vertical(benchmark::State& state) {
  manual_seed(0);
  nn::Conv2d conv(1, kVertical, {kSeq, 1});
  Tensor x = randn({kBatch, 1, kSeq, kDim}).requires_grad_();
  const Tensor g = randn({kBatch, kVertical, 1, kDim});
  for (auto _ : state) {
    conv.zero_grad();
    x.set_grad(Tensor());
    conv(x).backward(g);
  }
}
BENCHMARK(BM_conv2d_caser_vertical)->Unit(benchmark::kMicrosecond);

void BM_conv2d_3x3(benchmark::State& state) {  // [32, 16, 32, 32] -> [32, 32, 32, 32], padding 1
  manual_seed(0);
  nn::Conv2d conv(16, 32, {3, 3}, {.padding = {1, 1}});
  Tensor x = randn({32, 16, 32, 32}).requires_grad_();
  const Tensor g = randn({32, 32, 32, 32});
  for (auto _ : state) {
    conv.zero_grad();
    x.set_grad(Tensor());
    conv(x).backward(g);
  }
}
BENCHMARK(BM_conv2d_3x3)->Unit(benchmark::kMicrosecond);

void BM_max_pool2d(benchmark::State& state) {  // [32, 32, 32, 32], 2x2 windows
  Tensor x = randn({32, 32, 32, 32}).requires_grad_();
  const Tensor g = randn({32, 32, 16, 16});
  for (auto _ : state) {
    x.set_grad(Tensor());
    max_pool2d(x, {.kernel = {2, 2}}).backward(g);
  }
}
BENCHMARK(BM_max_pool2d)->Unit(benchmark::kMicrosecond);

}  // namespace
