// Micro-benchmarks at recommender shapes (batch 256, sequence 50, model dim
// 64; vocabularies of 4k and 100k items). tools/bench/compare_torch.py runs
// this binary and the same workloads in PyTorch side by side and prints the
// time ratios.
#include <benchmark/benchmark.h>

#include "recgrad.h"

using namespace recgrad;

namespace {

constexpr std::int64_t kBatch = 256, kSeq = 50, kDim = 64, kHidden = 256;

void BM_matmul(benchmark::State& state) {  // [B*T, D] x [D, D]
  Tensor a = randn({kBatch * kSeq, kDim}), b = randn({kDim, kDim});
  for (auto _ : state) benchmark::DoNotOptimize(matmul(a, b));
}
BENCHMARK(BM_matmul)->Unit(benchmark::kMicrosecond);

void BM_softmax(benchmark::State& state) {  // rows of the item vocabulary
  Tensor x = randn({kBatch, state.range(0)});
  for (auto _ : state) benchmark::DoNotOptimize(softmax(x, -1));
}
BENCHMARK(BM_softmax)->Arg(4096)->Arg(100000)->Unit(benchmark::kMicrosecond);

void BM_layer_norm(benchmark::State& state) {  // forward + backward
  Tensor x = randn({kBatch, kSeq, kDim}).requires_grad_();
  Tensor w = ones({kDim}).requires_grad_(), b = zeros({kDim}).requires_grad_();
  Tensor g = randn({kBatch, kSeq, kDim});
  for (auto _ : state) {
    Tensor y = layer_norm(x, {kDim}, w, b);
    y.backward(g);
  }
}
BENCHMARK(BM_layer_norm)->Unit(benchmark::kMicrosecond);

void BM_cross_entropy(benchmark::State& state) {  // forward + backward over C classes
  const std::int64_t classes = state.range(0);
  Tensor logits = randn({kBatch, classes}).requires_grad_();
  Tensor targets = randint(0, classes, {kBatch});
  for (auto _ : state) {
    Tensor loss = cross_entropy(logits, targets);
    loss.backward();
  }
}
BENCHMARK(BM_cross_entropy)->Arg(4096)->Arg(100000)->Unit(benchmark::kMicrosecond);

void BM_embedding_backward(benchmark::State& state) {  // [B, T] ids into a [V, D] table
  const std::int64_t vocab = state.range(0);
  Tensor table = randn({vocab, kDim}).requires_grad_();
  Tensor ids = randint(1, vocab, {kBatch, kSeq});
  Tensor g = randn({kBatch, kSeq, kDim});
  for (auto _ : state) {
    Tensor e = embedding(table, ids, 0);
    e.backward(g);
  }
}
BENCHMARK(BM_embedding_backward)->Arg(4096)->Arg(100000)->Unit(benchmark::kMicrosecond);

// One full training step of a 2-layer MLP on [B, T, D] activations:
// zero_grad, forward (Linear D->4D, ReLU, Linear 4D->D), MSE loss, backward, AdamW step.
void BM_mlp_train_step(benchmark::State& state) {
  manual_seed(0);
  nn::Sequential model(std::make_shared<nn::Linear>(kDim, kHidden), std::make_shared<nn::ReLU>(),
                       std::make_shared<nn::Linear>(kHidden, kDim));
  AdamW optimizer(model.parameters(), AdamWOptions{.lr = 1e-3, .weight_decay = 0.01});
  Tensor x = randn({kBatch, kSeq, kDim}), target = randn({kBatch, kSeq, kDim});
  for (auto _ : state) {
    optimizer.zero_grad();
    Tensor loss = mse_loss(model(x), target);
    loss.backward();
    optimizer.step();
  }
}
BENCHMARK(BM_mlp_train_step)->Unit(benchmark::kMicrosecond);

}  // namespace
