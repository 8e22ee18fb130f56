// The fused CUDA attention (core/cuda/flash_attention.cu) against the composed CPU attention: the public
// scaled_dot_product_attention runs the composed ops on the CPU and dispatches to the fused kernel on
// CUDA, so one function compared by expect_cuda_parity checks the output and dq, dk, dv of the kernels
// against the reference. Covered: causal + left padding at the SASRec shape, lengths 1, 7, 33, 512 at
// head dims 32, 64, 128, cross-attention (Tq != Tk), a KV-cache offset, grouped-query attention, a value
// dim unlike the key dim, fully masked rows (zeros, never NaN), strided inputs, a custom scale, the
// fallback when dropout, bias or a general mask is asked for, and bit-identical repeated backwards.
// Everything but the CPU error test skips without a GPU.
//
// Tolerances: rtol 1e-5 everywhere; atol 1e-6 (the default) for short sequences and 1e-5 from a few
// hundred keys on: there dk and dv are sums of hundreds of products of both signs (and dq, out sums over
// as many keys), the CPU adds them in OpenBLAS's order and the kernel in tile order, and entries that
// cancel to near zero keep the absolute rounding of the large terms (~1e-7 each).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/node.h"
#include "autograd/ops/attention.h"
#include "autograd/ops/flash_attention.h"
#include "core/ops/flash_attention.h"
#include "cuda/parity.h"
#include "recgrad.h"
#include "test_support.h"

using namespace recgrad;
using recgrad::testing::expect_cuda_parity;
using recgrad::testing::parity_input;
using recgrad::testing::Tolerance;

namespace {

constexpr Tolerance kShort{1e-5, 1e-6};
constexpr Tolerance kLong{1e-5, 1e-5};

// One attention problem: sizes, masks and options.
struct Case {
  std::int64_t batch = 2, heads = 2, kv_heads = 2, query_len = 8, key_len = 8, head_dim = 16, value_dim = 16;
  bool causal = false;
  std::int64_t causal_offset = 0;
  bool padding = false;  // a left-padding key mask with varied lengths (one row fully padded when batch > 2)
  std::optional<double> scale = std::nullopt;
  std::string name = {};
};

// The parts written one after another (a case's name).
template <typename... Parts>
std::string name_of(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

// b8 [B, Tk], true = padding: row b keeps its last lengths[b] keys, lengths cycling through Tk, Tk / 2,
// 1, 0 (a fully padded row: every query of it attends nothing), ...
Tensor left_padding_mask(std::int64_t batch, std::int64_t key_len) {
  std::vector<bool> bits;
  for (std::int64_t b = 0; b < batch; ++b) {
    const std::int64_t lengths[] = {key_len, key_len / 2, 1, 0, (key_len * 3) / 4};
    const std::int64_t length = lengths[b % 5];
    for (std::int64_t j = 0; j < key_len; ++j) bits.push_back(j < key_len - length);
  }
  return from_vector(bits, {batch, key_len});
}

AttentionOptions options_of(const Case& c, const std::vector<Tensor>& in) {
  AttentionOptions options;
  options.causal = c.causal;
  options.causal_offset = c.causal_offset;
  options.scale = c.scale;
  if (c.padding) options.key_padding_mask = raw::to_device(in[3], in[0].device());
  return options;
}

// q, k, v (and the padding mask) on the CPU for `c`.
std::vector<Tensor> inputs_of(const Case& c) {
  std::vector<Tensor> inputs{parity_input({c.batch, c.heads, c.query_len, c.head_dim}, 1),
                             parity_input({c.batch, c.kv_heads, c.key_len, c.head_dim}, 2),
                             parity_input({c.batch, c.kv_heads, c.key_len, c.value_dim}, 3)};
  if (c.padding) inputs.push_back(left_padding_mask(c.batch, c.key_len));
  return inputs;
}

// Runs `c` through scaled_dot_product_attention on both devices and compares; checks that CUDA took
// the fused kernel.
void expect_fused_parity(const Case& c, Tolerance tol = kShort) {
  expect_cuda_parity(
      [&c](const std::vector<Tensor>& in) {
        Tensor out = scaled_dot_product_attention(in[0], in[1], in[2], options_of(c, in));
        if (in[0].device().is_cuda()) {
          EXPECT_TRUE(out.grad_fn() && out.grad_fn()->name() == "flash_attention") << c.name << ": not fused";
        }
        return out;
      },
      inputs_of(c), tol, c.name);
}

// The CUDA gradients of q, k, v (concatenated, flat) after one forward and backward of `c`.
std::vector<float> cuda_gradients(const Case& c) {
  std::vector<Tensor> in;
  for (const Tensor& t : inputs_of(c)) {
    Tensor d = raw::to_device(t, Device::cuda());
    if (t.requires_grad()) d.requires_grad_();
    in.push_back(d);
  }
  const Tensor out = scaled_dot_product_attention(in[0], in[1], in[2], options_of(c, in));
  manual_seed(99);
  const Tensor weights = raw::to_device(randn(out.shape()), Device::cuda());
  sum(mul(out, weights)).backward();
  std::vector<float> grads;
  for (int i = 0; i < 3; ++i) {
    const std::vector<float> g = raw::to_device(in[i].grad(), Device::cpu()).to_vector<float>();
    grads.insert(grads.end(), g.begin(), g.end());
  }
  return grads;
}

}  // namespace

TEST(CudaParityFlashAttention, CpuThrowsCudaOnly) {
  // The fused op has no CPU path (the composed attention is the CPU one): it must say so, not crash.
  const Tensor q = randn({1, 1, 4, 8}), k = randn({1, 1, 4, 8}), v = randn({1, 1, 4, 8});
  recgrad::testing::expect_error([&] { raw::flash_attention_forward(q, k, v, {}); }, {"CUDA only"});
  recgrad::testing::expect_error([&] { flash_attention(q, k, v, {}); }, {"CUDA only"});
  EXPECT_FALSE(flash_attention_supports(q, k, v));
}

TEST(CudaParityFlashAttention, RejectsBadShapes) {
  SKIP_WITHOUT_CUDA();
  const Device gpu = Device::cuda();
  const Tensor q = randn({2, 4, 5, 8}, {DType::f32, gpu}), k = randn({2, 3, 5, 8}, {DType::f32, gpu});
  recgrad::testing::expect_error([&] { raw::flash_attention_forward(q, k, k, {}); }, {"H must be a multiple of Hkv"});
  const Tensor wide = randn({1, 1, 4, 129}, {DType::f32, gpu});
  recgrad::testing::expect_error([&] { raw::flash_attention_forward(wide, wide, wide, {}); }, {"head dims"});
  EXPECT_FALSE(flash_attention_supports(wide, wide, wide));
  const Tensor q64 = randn({1, 1, 4, 8}, {DType::f64, gpu});
  EXPECT_FALSE(flash_attention_supports(q64, q64, q64));
  raw::FlashAttentionOptions options;
  options.key_padding_mask = from_vector(std::vector<bool>(5, false), {1, 5}, gpu);
  const Tensor small = randn({1, 1, 4, 8}, {DType::f32, gpu});
  recgrad::testing::expect_error([&] { raw::flash_attention_forward(small, small, small, options); },
                                 {"key_padding_mask"});
}

TEST(CudaParityFlashAttention, SasrecShapeCausalLeftPadding) {
  SKIP_WITHOUT_CUDA();
  expect_fused_parity({.batch = 4,
                       .heads = 2,
                       .kv_heads = 2,
                       .query_len = 50,
                       .key_len = 50,
                       .head_dim = 32,
                       .value_dim = 32,
                       .causal = true,
                       .padding = true,
                       .name = "B4 H2 T50 D32 causal+padding"});
}

TEST(CudaParityFlashAttention, LengthsAndHeadDims) {
  SKIP_WITHOUT_CUDA();
  for (std::int64_t length : {1, 7, 33}) {
    for (std::int64_t dim : {32, 64, 128}) {
      for (bool causal : {false, true}) {
        expect_fused_parity({.batch = 3,
                             .heads = 2,
                             .kv_heads = 2,
                             .query_len = length,
                             .key_len = length,
                             .head_dim = dim,
                             .value_dim = dim,
                             .causal = causal,
                             .padding = true,
                             .name = name_of("T", length, " D", dim, causal ? " causal" : "")});
      }
    }
  }
  // Head dims that are not multiples of a warp (the last chunk of columns partly used).
  for (std::int64_t dim : {1, 5, 48, 100}) {
    expect_fused_parity({.batch = 2,
                         .heads = 1,
                         .kv_heads = 1,
                         .query_len = 19,
                         .key_len = 19,
                         .head_dim = dim,
                         .value_dim = dim,
                         .causal = true,
                         .name = name_of("T19 D", dim)});
  }
}

TEST(CudaParityFlashAttention, Length512) {
  SKIP_WITHOUT_CUDA();
  for (std::int64_t dim : {64, 128}) {
    expect_fused_parity({.batch = 1,
                         .heads = 2,
                         .kv_heads = 2,
                         .query_len = 512,
                         .key_len = 512,
                         .head_dim = dim,
                         .value_dim = dim,
                         .causal = true,
                         .padding = true,
                         .name = name_of("T512 D", dim)},
                        kLong);
  }
  expect_fused_parity({.batch = 1,
                       .heads = 1,
                       .kv_heads = 1,
                       .query_len = 512,
                       .key_len = 512,
                       .head_dim = 64,
                       .value_dim = 64,
                       .name = "T512 D64 unmasked"},
                      kLong);
}

TEST(CudaParityFlashAttention, CrossAttentionAndKvCache) {
  SKIP_WITHOUT_CUDA();
  // Cross-attention: 7 decoder queries over 33 padded encoder keys, and the other way round.
  expect_fused_parity({.batch = 3,
                       .heads = 2,
                       .kv_heads = 2,
                       .query_len = 7,
                       .key_len = 33,
                       .head_dim = 32,
                       .value_dim = 32,
                       .padding = true,
                       .name = "cross Tq7 Tk33"});
  expect_fused_parity({.batch = 3,
                       .heads = 2,
                       .kv_heads = 2,
                       .query_len = 40,
                       .key_len = 9,
                       .head_dim = 64,
                       .value_dim = 64,
                       .padding = true,
                       .name = "cross Tq40 Tk9"});
  // KV cache: the last 5 of 40 positions query all 40 keys (offset Tk - Tq), and one decoding step.
  expect_fused_parity({.batch = 2,
                       .heads = 4,
                       .kv_heads = 4,
                       .query_len = 5,
                       .key_len = 40,
                       .head_dim = 32,
                       .value_dim = 32,
                       .causal = true,
                       .causal_offset = 35,
                       .padding = true,
                       .name = "kv cache Tq5 Tk40"});
  expect_fused_parity({.batch = 2,
                       .heads = 2,
                       .kv_heads = 2,
                       .query_len = 1,
                       .key_len = 300,
                       .head_dim = 64,
                       .value_dim = 64,
                       .causal = true,
                       .causal_offset = 299,
                       .padding = true,
                       .name = "decode step Tk300"},
                      kLong);
}

TEST(CudaParityFlashAttention, GroupedQueryAttention) {
  SKIP_WITHOUT_CUDA();
  expect_fused_parity({.batch = 2,
                       .heads = 4,
                       .kv_heads = 2,
                       .query_len = 37,
                       .key_len = 37,
                       .head_dim = 64,
                       .value_dim = 64,
                       .causal = true,
                       .padding = true,
                       .name = "GQA H4 Hkv2"});
  expect_fused_parity({.batch = 2,
                       .heads = 6,
                       .kv_heads = 1,
                       .query_len = 20,
                       .key_len = 45,
                       .head_dim = 32,
                       .value_dim = 32,
                       .causal = true,
                       .causal_offset = 25,
                       .name = "GQA H6 Hkv1 cache"});
}

TEST(CudaParityFlashAttention, ValueDimDiffersFromKeyDim) {
  SKIP_WITHOUT_CUDA();
  expect_fused_parity({.batch = 2,
                       .heads = 2,
                       .kv_heads = 2,
                       .query_len = 21,
                       .key_len = 21,
                       .head_dim = 72,
                       .value_dim = 20,
                       .causal = true,
                       .padding = true,
                       .name = "D72 Dv20"});
  expect_fused_parity({.batch = 2,
                       .heads = 2,
                       .kv_heads = 1,
                       .query_len = 21,
                       .key_len = 30,
                       .head_dim = 16,
                       .value_dim = 128,
                       .padding = true,
                       .name = "D16 Dv128"});
}

TEST(CudaParityFlashAttention, FullyMaskedRowsGiveZeros) {
  SKIP_WITHOUT_CUDA();
  // A negative offset hides every key from the first 3 queries; the padding mask hides all keys of
  // batch row 3. Both give out = 0 and zero gradients, never NaN (expect_close fails on NaN).
  const Case c{.batch = 4,
               .heads = 2,
               .kv_heads = 2,
               .query_len = 12,
               .key_len = 12,
               .head_dim = 32,
               .value_dim = 32,
               .causal = true,
               .causal_offset = -3,
               .padding = true,
               .name = "fully masked rows"};
  expect_fused_parity(c);
  std::vector<Tensor> in;
  for (const Tensor& t : inputs_of(c)) in.push_back(raw::to_device(t, Device::cuda()));
  const std::vector<float> out =
      raw::to_device(scaled_dot_product_attention(in[0], in[1], in[2], options_of(c, in)), Device::cpu())
          .to_vector<float>();
  // Batch row 3 (fully padded) and the first 3 queries of every row are exactly zero.
  for (std::int64_t b = 0; b < c.batch; ++b) {
    for (std::int64_t h = 0; h < c.heads; ++h) {
      for (std::int64_t i = 0; i < c.query_len; ++i) {
        if (b != 3 && i >= 3) continue;
        for (std::int64_t d = 0; d < c.value_dim; ++d) {
          ASSERT_EQ(out[((b * c.heads + h) * c.query_len + i) * c.value_dim + d], 0.0f) << b << " " << h << " " << i;
        }
      }
    }
  }
  // Every key hidden from every query (offset below -Tq): all zeros, dk = dv = 0.
  expect_fused_parity({.batch = 2,
                       .heads = 1,
                       .kv_heads = 1,
                       .query_len = 5,
                       .key_len = 7,
                       .head_dim = 8,
                       .value_dim = 8,
                       .causal = true,
                       .causal_offset = -10,
                       .name = "everything masked"});
}

TEST(CudaParityFlashAttention, StridedInputsAndScale) {
  SKIP_WITHOUT_CUDA();
  // q, k, v as the layers make them: [B, T, H, D] projections seen through transpose(1, 2).
  const std::int64_t batch = 3, length = 26, heads = 2, dim = 32;
  expect_cuda_parity(
      [](const std::vector<Tensor>& in) {
        AttentionOptions options;
        options.causal = true;
        options.scale = 0.3;
        return scaled_dot_product_attention(transpose(in[0], 1, 2), transpose(in[1], 1, 2), transpose(in[2], 1, 2),
                                            options);
      },
      {parity_input({batch, length, heads, dim}, 4), parity_input({batch, length, heads, dim}, 5),
       parity_input({batch, length, heads, dim}, 6)},
      kShort, "strided q, k, v with scale 0.3");
}

TEST(CudaParityFlashAttention, FallsBackForDropoutBiasAndGeneralMasks) {
  SKIP_WITHOUT_CUDA();
  const Device gpu = Device::cuda();
  const Tensor q = randn({2, 2, 6, 16}, {DType::f32, gpu}).requires_grad_();
  AttentionOptions with_bias;
  with_bias.bias = randn({1, 2, 6, 6}, {DType::f32, gpu});
  AttentionOptions with_mask;
  with_mask.attn_mask = raw::to_device(from_vector(std::vector<bool>(36, false), {6, 6}), gpu);
  AttentionOptions with_dropout;
  with_dropout.dropout = 0.1;
  with_dropout.training = true;
  for (const AttentionOptions* options : {&with_bias, &with_mask, &with_dropout}) {
    const Tensor out = scaled_dot_product_attention(q, q, q, *options);
    ASSERT_TRUE(out.grad_fn());
    EXPECT_NE(out.grad_fn()->name(), "flash_attention");
  }
  // Dropout configured but not training: fused.
  with_dropout.training = false;
  const Tensor out = scaled_dot_product_attention(q, q, q, with_dropout);
  ASSERT_TRUE(out.grad_fn());
  EXPECT_EQ(out.grad_fn()->name(), "flash_attention");
}

TEST(CudaParityFlashAttention, BackwardIsDeterministic) {
  SKIP_WITHOUT_CUDA();
  // Grouped-query heads (dk, dv summed over 4 query heads per kv head) at a long causal sequence.
  const Case c{.batch = 2,
               .heads = 8,
               .kv_heads = 2,
               .query_len = 300,
               .key_len = 300,
               .head_dim = 64,
               .value_dim = 64,
               .causal = true,
               .padding = true,
               .name = "determinism"};
  const std::vector<float> first = cuda_gradients(c), second = cuda_gradients(c);
  ASSERT_EQ(first.size(), second.size());
  for (std::size_t i = 0; i < first.size(); ++i) {
    ASSERT_EQ(std::memcmp(&first[i], &second[i], sizeof(float)), 0) << "gradient element " << i << " differs";
  }
}
