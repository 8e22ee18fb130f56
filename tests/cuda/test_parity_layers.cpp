// CPU-vs-CUDA parity of the attention layers and Transformer blocks, forward and backward (inputs and
// every parameter): masked softmax, scaled dot-product attention (causal, left padding, GQA, fully masked
// rows), RoPE, MultiheadAttention (self, cross, KV cache), the encoder and decoder layers and the
// Qwen-style layer. Skips without a GPU.
#include <gtest/gtest.h>

#include <vector>

#include "core/ops/copy.h"
#include "cuda/parity.h"
#include "recgrad.h"

using namespace recgrad;
using namespace recgrad::nn;
using recgrad::testing::expect_cuda_parity;
using recgrad::testing::expect_module_parity;
using recgrad::testing::parity_input;
using recgrad::testing::Tolerance;

namespace {

/// [B, T] b8 with the first pad[b] positions of row b marked as padding, on `device`.
Tensor left_padding(const std::vector<std::int64_t>& pad, std::int64_t length, Device device) {
  std::vector<std::uint8_t> values;
  for (std::int64_t p : pad)
    for (std::int64_t t = 0; t < length; ++t) values.push_back(t < p ? 1 : 0);
  return raw::to_device(raw::to_dtype(from_vector(values, {static_cast<std::int64_t>(pad.size()), length}), DType::b8),
                        device);
}

// Sums of a few hundred products: 1e-5 relative plus a small absolute floor for entries near zero.
constexpr Tolerance kLayerTolerance{1e-5, 1e-5};

}  // namespace

TEST(CudaParityLayers, MaskedSoftmax) {
  SKIP_WITHOUT_CUDA();
  for (std::int64_t n : {1, 7, 33, 50, 1000}) {
    const Tensor x = parity_input({6, 3, n}, 1);
    const std::vector<std::int64_t> pad{0, 1, n, n / 2, 3 % (n + 1), n - 1};
    expect_cuda_parity(
        [&](const std::vector<Tensor>& in) {
          const Tensor mask = raw::view(left_padding(pad, n, in[0].device()), {6, 1, n});
          return masked_softmax(in[0], mask);
        },
        {x}, Tolerance{}, "masked_softmax n=" + std::to_string(n));
  }
}

TEST(CudaParityLayers, ScaledDotProductAttention) {
  SKIP_WITHOUT_CUDA();
  for (std::int64_t t : {1, 7, 50}) {
    const Tensor q = parity_input({4, 4, t, 16}, 2), k = parity_input({4, 2, t, 16}, 3),
                 v = parity_input({4, 2, t, 16}, 4);
    expect_cuda_parity(
        [&](const std::vector<Tensor>& in) {
          AttentionOptions options;
          options.causal = true;
          options.key_padding_mask = left_padding({0, 1, t / 2, t}, t, in[0].device());  // the last row: all masked
          return scaled_dot_product_attention(in[0], in[1], in[2], options);
        },
        {q, k, v}, kLayerTolerance, "sdpa causal+padding+GQA T=" + std::to_string(t));
  }
}

TEST(CudaParityLayers, RotaryEmbedding) {
  SKIP_WITHOUT_CUDA();
  const RotaryEmbedding rope(32);
  expect_cuda_parity([&](const std::vector<Tensor>& in) { return rope.apply(in[0], 5); },
                     {parity_input({2, 3, 7, 32}, 5)}, Tolerance{}, "rope");
}

TEST(CudaParityLayers, MultiheadAttentionSelfCrossAndCache) {
  SKIP_WITHOUT_CUDA();
  const Tensor x = parity_input({4, 10, 64}, 6), memory = parity_input({4, 6, 64}, 7);
  expect_module_parity<MultiheadAttention>([] { return std::make_shared<MultiheadAttention>(64, 2); },
                                           [](MultiheadAttention& m, const std::vector<Tensor>& in) {
                                             AttentionMasks masks;
                                             masks.causal = true;
                                             masks.key_padding_mask = left_padding({0, 3, 9, 1}, 10, in[0].device());
                                             return m.self_attention(in[0], masks);
                                           },
                                           {x}, kLayerTolerance, "MultiheadAttention self");
  expect_module_parity<MultiheadAttention>(
      [] { return std::make_shared<MultiheadAttention>(64, 2); },
      [](MultiheadAttention& m, const std::vector<Tensor>& in) { return m.forward(in[0], in[1], in[1]); }, {x, memory},
      kLayerTolerance, "MultiheadAttention cross");
  expect_module_parity<MultiheadAttention>(
      [] { return std::make_shared<MultiheadAttention>(64, 2); },
      [](MultiheadAttention& m, const std::vector<Tensor>& in) {
        AttentionMasks masks;
        masks.causal = true;
        KVCache cache;
        std::vector<Tensor> steps{m.self_attention(narrow(in[0], 1, 0, 4), masks, &cache)};
        for (std::int64_t t = 4; t < 10; ++t) steps.push_back(m.self_attention(narrow(in[0], 1, t, 1), masks, &cache));
        return cat(steps, 1);
      },
      {x}, kLayerTolerance, "MultiheadAttention KV cache");
}

TEST(CudaParityLayers, TransformerBlocks) {
  SKIP_WITHOUT_CUDA();
  const Tensor x = parity_input({4, 10, 64}, 8), memory = parity_input({4, 6, 64}, 9);
  for (bool norm_first : {false, true}) {
    expect_module_parity<TransformerEncoderLayer>(
        [norm_first] {
          return std::make_shared<TransformerEncoderLayer>(64, 2, 128, 0.0, FeedForwardActivation::gelu, norm_first);
        },
        [](TransformerEncoderLayer& m, const std::vector<Tensor>& in) {
          AttentionMasks masks;
          masks.causal = true;
          masks.key_padding_mask = left_padding({0, 3, 9, 1}, 10, in[0].device());
          return m.forward(in[0], masks);
        },
        {x}, kLayerTolerance, norm_first ? "encoder pre-norm" : "encoder post-norm");
  }
  expect_module_parity<TransformerDecoderLayer>(
      [] { return std::make_shared<TransformerDecoderLayer>(64, 2, 128, 0.0); },
      [](TransformerDecoderLayer& m, const std::vector<Tensor>& in) {
        AttentionMasks self_masks;
        self_masks.causal = true;
        return m.forward(in[0], in[1], self_masks);
      },
      {x, memory}, kLayerTolerance, "decoder layer");
  expect_module_parity<QwenDecoderLayer>(
      [] { return std::make_shared<QwenDecoderLayer>(64, 4, 2, 128); },
      [](QwenDecoderLayer& m, const std::vector<Tensor>& in) { return m.forward(in[0]); }, {x}, kLayerTolerance,
      "Qwen decoder layer");
}
