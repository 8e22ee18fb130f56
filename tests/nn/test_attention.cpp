// Attention: scaled dot-product attention with causal, padding and boolean masks and an additive bias
// (gradchecks in f64; a fully masked row gives zeros and finite gradients), grouped-query attention
// equals attention with repeated key/value heads, the key/value cache equals full recomputation, RoPE's
// relative-position property, sinusoidal encodings, and MultiheadAttention against torch fixtures.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "autograd/ops/attention.h"
#include "core/ops/copy.h"
#include "nn/attention.h"
#include "nn/positional.h"
#include "nn_test_util.h"
#include "recgrad.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::nn;
using recgrad::testing::expect_error;
using recgrad::testing::max_abs_diff;
using recgrad::testing::randn64;
using recgrad::testing::expect_gradcheck;

namespace {

/// A [B, Tk] key padding mask: the first pad[b] keys of row b are padding (left padding).
Tensor left_padding_mask(const std::vector<std::int64_t>& pad, std::int64_t key_len) {
  std::vector<std::uint8_t> values;
  for (std::int64_t p : pad)
    for (std::int64_t j = 0; j < key_len; ++j) values.push_back(j < p ? 1 : 0);
  Tensor bytes = from_vector(values, {static_cast<std::int64_t>(pad.size()), key_len});
  return raw::to_dtype(bytes, DType::b8);
}

}  // namespace

TEST(Attention, MatchesTheDefinitionWithoutMasks) {
  const Tensor q = randn64({2, 3, 4, 5}, 1), k = randn64({2, 3, 6, 5}, 2), v = randn64({2, 3, 6, 7}, 3);
  const Tensor out = scaled_dot_product_attention(q, k, v);
  const Tensor expected = matmul(softmax(mul(matmul(q, transpose(k, 2, 3)), 1.0 / std::sqrt(5.0)), -1), v);
  EXPECT_EQ(out.shape(), Shape({2, 3, 4, 7}));
  EXPECT_LT(max_abs_diff(out, expected), 1e-14);
}

TEST(Attention, GradcheckWithCausalPaddingMaskAndBias) {
  const Tensor mask = left_padding_mask({0, 2}, 5);
  const Tensor bias = randn64({1, 2, 5, 5}, 9);
  expect_gradcheck(
      [&](const std::vector<Tensor>& in) {
        AttentionOptions options;
        options.causal = true;
        options.key_padding_mask = mask;
        options.bias = in[3];
        return scaled_dot_product_attention(in[0], in[1], in[2], options);
      },
      {randn64({2, 2, 5, 3}, 4).requires_grad_(), randn64({2, 2, 5, 3}, 5).requires_grad_(),
       randn64({2, 2, 5, 4}, 6).requires_grad_(), bias.detach().requires_grad_()});
}

TEST(Attention, FullyMaskedRowsGiveZerosAndFiniteGradients) {
  // row 1 has every key padded; with a causal mask its first queries see nothing either
  const Tensor mask = left_padding_mask({1, 4}, 4);
  Tensor q = randn64({2, 1, 4, 3}, 7).requires_grad_(), k = randn64({2, 1, 4, 3}, 8).requires_grad_();
  Tensor v = randn64({2, 1, 4, 3}, 9).requires_grad_();
  AttentionOptions options;
  options.causal = true;
  options.key_padding_mask = mask;
  const Tensor out = scaled_dot_product_attention(q, k, v, options);
  const std::vector<double> values = out.to_vector<double>();
  for (double x : values) EXPECT_TRUE(std::isfinite(x));
  // batch 0, query 0: its only causal key (0) is padding -> zeros; batch 1: all zeros
  for (std::int64_t d = 0; d < 3; ++d) EXPECT_EQ(values[d], 0.0);
  for (std::size_t i = 12; i < 24; ++i) EXPECT_EQ(values[i], 0.0);
  sum(out).backward();
  for (const Tensor& t : {q, k, v})
    for (double g : t.grad().to_vector<double>()) EXPECT_TRUE(std::isfinite(g));
  // nothing flows into batch 1 at all
  for (double g : select(q.grad(), 0, 1).to_vector<double>()) EXPECT_EQ(g, 0.0);
  expect_gradcheck(
      [&](const std::vector<Tensor>& in) { return scaled_dot_product_attention(in[0], in[1], in[2], options); },
      {q.detach().requires_grad_(), k.detach().requires_grad_(), v.detach().requires_grad_()});
}

TEST(Attention, GroupedQueryEqualsRepeatedHeads) {
  const Tensor q = randn64({2, 4, 3, 5}, 11), k = randn64({2, 2, 6, 5}, 12), v = randn64({2, 2, 6, 5}, 13);
  const Tensor grouped = scaled_dot_product_attention(q, k, v);
  // query heads 0,1 use kv head 0; heads 2,3 use kv head 1
  const Tensor index = from_vector<std::int64_t>({0, 0, 1, 1});
  const Tensor repeated = scaled_dot_product_attention(q, index_select(k, 1, index), index_select(v, 1, index));
  EXPECT_LT(max_abs_diff(grouped, repeated), 1e-14);
  expect_gradcheck([](const std::vector<Tensor>& in) { return scaled_dot_product_attention(in[0], in[1], in[2]); },
                   {q.detach().requires_grad_(), k.detach().requires_grad_(), v.detach().requires_grad_()});
}

TEST(Attention, BadShapesAndMasksAreReported) {
  const Tensor q = randn64({2, 4, 3, 5}, 1), k = randn64({2, 3, 6, 5}, 2);
  expect_error([&] { scaled_dot_product_attention(q, k, k); },
               {"scaled_dot_product_attention", "[2, 4, 3, 5]", "multiple of Hkv"});
  AttentionOptions options;
  options.key_padding_mask = zeros({2, 6});
  expect_error([&] { scaled_dot_product_attention(q, q, q, options); }, {"key_padding_mask", "b8"});
  options.key_padding_mask = left_padding_mask({0}, 3);
  expect_error([&] { scaled_dot_product_attention(q, q, q, options); }, {"key_padding_mask", "[2, 3]"});
}

TEST(RotaryEmbedding, ScoresDependOnlyOnRelativePosition) {
  const RotaryEmbedding rope(8);
  const Tensor q = randn64({1, 1, 1, 8}, 21), k = randn64({1, 1, 1, 8}, 22);
  auto score = [&](std::int64_t p, std::int64_t s) {
    return sum(mul(rope.apply(q, p), rope.apply(k, s))).item<double>();
  };
  EXPECT_NEAR(score(3, 1), score(10, 8), 1e-12);
  EXPECT_NEAR(score(0, 0), sum(mul(q, k)).item<double>(), 1e-12);  // position 0 is the identity
  // a rotation keeps the norm
  EXPECT_NEAR(sum(square(rope.apply(q, 5))).item<double>(), sum(square(q)).item<double>(), 1e-12);
  expect_gradcheck([&](const std::vector<Tensor>& in) { return rope.apply(in[0], 3); },
                   {randn64({2, 2, 3, 8}, 23).requires_grad_()});
}

TEST(SinusoidalPositions, MatchesTheFormula) {
  const Tensor pe = sinusoidal_positions(5, 6, {DType::f64});
  const std::vector<double> v = pe.to_vector<double>();
  EXPECT_NEAR(v[0 * 6 + 0], 0.0, 1e-15);
  EXPECT_NEAR(v[0 * 6 + 1], 1.0, 1e-15);
  EXPECT_NEAR(v[3 * 6 + 2], std::sin(3.0 / std::pow(10000.0, 2.0 / 6)), 1e-15);
  EXPECT_NEAR(v[4 * 6 + 5], std::cos(4.0 / std::pow(10000.0, 4.0 / 6)), 1e-15);
  expect_error([] { sinusoidal_positions(4, 5); }, {"sinusoidal_positions", "even"});
}

TEST(MultiheadAttention, KVCacheEqualsFullRecomputation) {
  manual_seed(31);
  MultiheadAttention attention(8, 2);
  attention.to_dtype(DType::f64);
  attention.eval();
  const Tensor x = randn64({2, 5, 8}, 32);
  AttentionMasks masks;
  masks.causal = true;
  const Tensor full = attention.self_attention(x, masks);
  KVCache cache;
  std::vector<Tensor> steps;
  steps.push_back(attention.self_attention(narrow(x, 1, 0, 2), masks, &cache));  // a 2-token prompt
  for (std::int64_t t = 2; t < 5; ++t) steps.push_back(attention.self_attention(narrow(x, 1, t, 1), masks, &cache));
  EXPECT_EQ(cache.length(), 5);
  EXPECT_LT(max_abs_diff(cat(steps, 1), full), 1e-13);
}

TEST(GroupedQueryAttention, KVCacheEqualsFullRecomputationWithRope) {
  manual_seed(41);
  GroupedQueryAttention attention(16, 4, 2);
  attention.to_dtype(DType::f64);
  const Tensor x = randn64({2, 6, 16}, 42);
  AttentionMasks masks;
  masks.causal = true;
  const Tensor full = attention.forward(x, masks);
  KVCache cache;
  std::vector<Tensor> steps;
  for (std::int64_t t = 0; t < 6; ++t) steps.push_back(attention.forward(narrow(x, 1, t, 1), masks, &cache));
  EXPECT_LT(max_abs_diff(cat(steps, 1), full), 1e-13);
  EXPECT_EQ(recgrad::nn::testing::names_of(attention.named_parameters()),
            (std::vector<std::string>{"q_proj.weight", "q_proj.bias", "k_proj.weight", "k_proj.bias", "v_proj.weight",
                                      "v_proj.bias", "o_proj.weight"}));
  expect_gradcheck([&](const std::vector<Tensor>& in) { return attention.forward(in[0], masks); },
                   {randn64({1, 3, 16}, 43).requires_grad_()});
}

TEST(MultiheadAttention, GradcheckSelfAndCrossAttention) {
  manual_seed(51);
  MultiheadAttention attention(6, 3);
  attention.to_dtype(DType::f64);
  AttentionMasks masks;
  masks.key_padding_mask = left_padding_mask({0, 2}, 4);
  expect_gradcheck([&](const std::vector<Tensor>& in) { return attention.self_attention(in[0], masks); },
                   {randn64({2, 4, 6}, 52).requires_grad_()});
  expect_gradcheck([&](const std::vector<Tensor>& in) { return attention.forward(in[0], in[1], in[1], masks); },
                   {randn64({2, 3, 6}, 53).requires_grad_(), randn64({2, 4, 6}, 54).requires_grad_()});
  // the parameters get gradients too
  const Tensor x = randn64({2, 4, 6}, 55);
  sum(attention.self_attention(x, masks)).backward();
  EXPECT_TRUE(attention.in_proj_weight.grad().defined());
  EXPECT_TRUE(attention.out_proj->weight.grad().defined());
}
