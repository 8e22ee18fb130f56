// GRU benchmarks at the recommender shape (batch 256, sequence 50, input 64, hidden 64), forward +
// backward and inference-only forward; tools/bench/compare_torch_layers_gru.py runs the same workloads
// with torch.nn.GRU on the CPU in the same run and prints the time ratios. Linked into bench_ops.
#include <benchmark/benchmark.h>

#include "nn/gru.h"
#include "recgrad.h"

using namespace recgrad;

namespace {

constexpr std::int64_t kBatch = 256, kSeq = 50, kInput = 64, kHidden = 64;

// Forward + backward of the output (gradient g) through `layers` layers, batch_first.
void BM_gru_train(benchmark::State& state) {
  const std::int64_t layers = state.range(0);
  manual_seed(0);
  nn::GRU gru(kInput, kHidden, {.num_layers = layers, .batch_first = true});
  Tensor x = randn({kBatch, kSeq, kInput}).requires_grad_();
  Tensor g = randn({kBatch, kSeq, kHidden});
  for (auto _ : state) {
    gru.zero_grad();
    x.set_grad(Tensor());
    nn::GRUOutput out = gru(x);
    out.output.backward(g);
  }
}
BENCHMARK(BM_gru_train)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

// The same with a left-padding mask (lengths 1..50); torch's side runs pack_padded_sequence.
void BM_gru_train_masked(benchmark::State& state) {
  manual_seed(0);
  nn::GRU gru(kInput, kHidden, {.batch_first = true});
  Tensor x = randn({kBatch, kSeq, kInput}).requires_grad_();
  Tensor g = randn({kBatch, kSeq, kHidden});
  std::vector<std::int64_t> lengths;
  for (std::int64_t b = 0; b < kBatch; ++b) lengths.push_back(1 + b % kSeq);
  const Tensor mask = nn::lengths_to_mask(from_vector(lengths), kSeq, nn::Padding::left);
  for (auto _ : state) {
    gru.zero_grad();
    x.set_grad(Tensor());
    nn::GRUOutput out = gru(x, Tensor(), mask);
    out.output.backward(g);
  }
}
BENCHMARK(BM_gru_train_masked)->Unit(benchmark::kMillisecond);

// Inference: forward only, no graph.
void BM_gru_inference(benchmark::State& state) {
  manual_seed(0);
  nn::GRU gru(kInput, kHidden, {.batch_first = true});
  Tensor x = randn({kBatch, kSeq, kInput});
  NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(gru(x).output);
}
BENCHMARK(BM_gru_inference)->Unit(benchmark::kMillisecond);

}  // namespace
