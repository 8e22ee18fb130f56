// Transformer blocks: gradchecks in f64 of the encoder layer (pre- and post-norm), the decoder layer
// with cross-attention, the Qwen-style layer and the relative position bias; incremental decoding with a
// key/value cache equals full recomputation; dropout only while training; bad shapes are reported.
#include <gtest/gtest.h>

#include <cmath>

#include "nn/transformer.h"
#include "recgrad.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::nn;
using recgrad::testing::expect_error;
using recgrad::testing::max_abs_diff;
using recgrad::testing::randn64;
using recgrad::testing::expect_gradcheck;

TEST(TransformerEncoderLayer, GradcheckPreAndPostNorm) {
  for (bool norm_first : {false, true}) {
    manual_seed(1);
    TransformerEncoderLayer layer(6, 2, 10, 0.0, FeedForwardActivation::gelu, norm_first);
    layer.to_dtype(DType::f64);
    AttentionMasks masks;
    masks.causal = true;
    expect_gradcheck([&](const std::vector<Tensor>& in) { return layer.forward(in[0], masks); },
                     {randn64({2, 4, 6}, 2).requires_grad_()});
  }
}

TEST(TransformerEncoderLayer, DropoutOnlyWhileTraining) {
  manual_seed(3);
  TransformerEncoderLayer layer(8, 2, 16, 0.5);
  const Tensor x = randn({2, 5, 8});
  layer.eval();
  const Tensor a = layer.forward(x), b = layer.forward(x);
  EXPECT_EQ(max_abs_diff(a, b), 0.0);
  layer.train();
  EXPECT_GT(max_abs_diff(layer.forward(x), a), 1e-3);
  expect_error([&] { layer.forward(randn({2, 5, 7})); }, {"TransformerEncoderLayer", "[2, 5, 7]"});
}

TEST(TransformerDecoderLayer, GradcheckAndIncrementalDecoding) {
  manual_seed(4);
  TransformerDecoderLayer layer(6, 2, 10, 0.0, FeedForwardActivation::relu, true);
  layer.to_dtype(DType::f64);
  const Tensor memory = randn64({2, 3, 6}, 5);
  AttentionMasks causal;
  causal.causal = true;
  expect_gradcheck([&](const std::vector<Tensor>& in) { return layer.forward(in[0], in[1], causal); },
                   {randn64({2, 4, 6}, 6).requires_grad_(), memory.detach().requires_grad_()});
  const Tensor target = randn64({2, 4, 6}, 7);
  const Tensor full = layer.forward(target, memory, causal);
  KVCache cache;
  std::vector<Tensor> steps;
  for (std::int64_t t = 0; t < 4; ++t)
    steps.push_back(layer.forward(narrow(target, 1, t, 1), memory, causal, {}, &cache));
  EXPECT_LT(max_abs_diff(cat(steps, 1), full), 1e-13);
}

TEST(QwenDecoderLayer, GradcheckAndIncrementalDecoding) {
  manual_seed(8);
  QwenDecoderLayer layer(8, 4, 2, 12);
  layer.to_dtype(DType::f64);
  expect_gradcheck([&](const std::vector<Tensor>& in) { return layer.forward(in[0]); },
                   {randn64({2, 3, 8}, 9).requires_grad_()});
  const Tensor x = randn64({1, 5, 8}, 10);
  const Tensor full = layer.forward(x);
  KVCache cache;
  const Tensor prompt = layer.forward(narrow(x, 1, 0, 3), {}, &cache);
  const Tensor rest = layer.forward(narrow(x, 1, 3, 2), {}, &cache);
  EXPECT_LT(max_abs_diff(cat({prompt, rest}, 1), full), 1e-13);
}

TEST(RelativePositionBias, ShapeGradientAndBucketsNearZero) {
  manual_seed(11);
  RelativePositionBias bias(3, true, 8, 16);
  bias.to_dtype(DType::f64);
  EXPECT_EQ(bias.forward(4, 6).shape(), Shape({1, 3, 4, 6}));
  EXPECT_EQ(bias.bucket(0), 0);
  EXPECT_EQ(bias.bucket(1), 5);  // keys after the query use the upper half of the buckets
  EXPECT_EQ(bias.bucket(-1), 1);
  RelativePositionBias causal(3, false, 8, 16);
  EXPECT_EQ(causal.bucket(5), 0);  // future keys all share bucket 0
  EXPECT_EQ(causal.bucket(-2), 2);
  // its table gets the gradient of scores it biases
  const Tensor weights = randn64({1, 3, 4, 6}, 12);
  sum(mul(bias.forward(4, 6), weights)).backward();
  EXPECT_TRUE(bias.relative_attention_bias->weight.grad().defined());
}
