// Forward + backward of the attention layers at SASRec's shapes (batch 256, sequence 50, hidden 64, causal,
// left-padded histories) and of a small Qwen-style decoder layer; tools/bench/compare_torch_layers_attention.py
// runs the same workloads in PyTorch side by side.
#include <benchmark/benchmark.h>

#include "core/ops/copy.h"
#include "nn/attention.h"
#include "nn/transformer.h"
#include "recgrad.h"

namespace {

using namespace recgrad;

constexpr std::int64_t kBatch = 256, kSeq = 50, kDim = 64;

/// [B, T] b8: the first (b * 7) % T positions of row b are padding.
Tensor padding_mask() {
  std::vector<std::uint8_t> values;
  for (std::int64_t b = 0; b < kBatch; ++b)
    for (std::int64_t t = 0; t < kSeq; ++t) values.push_back(t < (b * 7) % kSeq ? 1 : 0);
  return raw::to_dtype(from_vector(values, {kBatch, kSeq}), DType::b8);
}

void BM_mha_self_attention(benchmark::State& state) {
  manual_seed(0);
  nn::MultiheadAttention attention(kDim, 2);
  Tensor x = randn({kBatch, kSeq, kDim}).requires_grad_();
  nn::AttentionMasks masks;
  masks.causal = true;
  masks.key_padding_mask = padding_mask();
  for (auto _ : state) {
    sum(attention.self_attention(x, masks)).backward();
  }
}
BENCHMARK(BM_mha_self_attention)->Unit(benchmark::kMillisecond);

void BM_sasrec_encoder_layer(benchmark::State& state) {
  manual_seed(0);
  nn::TransformerEncoderLayer layer(kDim, 2, kDim, 0.2, nn::FeedForwardActivation::gelu, true);
  Tensor x = randn({kBatch, kSeq, kDim}).requires_grad_();
  nn::AttentionMasks masks;
  masks.causal = true;
  masks.key_padding_mask = padding_mask();
  for (auto _ : state) {
    sum(layer.forward(x, masks)).backward();
  }
}
BENCHMARK(BM_sasrec_encoder_layer)->Unit(benchmark::kMillisecond);

void BM_qwen_decoder_layer(benchmark::State& state) {
  manual_seed(0);
  nn::QwenDecoderLayer layer(kDim, 4, 2, 2 * kDim);
  Tensor x = randn({kBatch, kSeq, kDim}).requires_grad_();
  for (auto _ : state) {
    sum(layer.forward(x)).backward();
  }
}
BENCHMARK(BM_qwen_decoder_layer)->Unit(benchmark::kMillisecond);

}  // namespace
