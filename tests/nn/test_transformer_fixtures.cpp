// The attention layers and Transformer blocks against PyTorch (tests/fixtures/make_transformer_fixtures.py):
// MultiheadAttention (causal, left padding, cross-attention), TransformerEncoderLayer (post-norm ReLU,
// pre-norm GELU), TransformerDecoderLayer, a Qwen2-style decoder layer, and T5's relative position buckets.
// Weights come from the fixture through safetensors under their PyTorch names; in f32 the output and every
// gradient (inputs and parameters) match the float64 torch reference to 1e-5 relative.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

#include "core/ops/copy.h"
#include "nn/attention.h"
#include "nn/safetensors.h"
#include "nn/transformer.h"
#include "recgrad.h"

using namespace recgrad;
using namespace recgrad::nn;

namespace {

StateDict load_case(const std::string& name) {
  return load_safetensors(std::string(RECGRAD_TEST_DATA_DIR) + "/nn/" + name + ".safetensors");
}

/// Expects |actual - expected| <= 1e-5 |expected| + 1e-6 max|expected| elementwise (expected in f64).
void expect_matches(const Tensor& actual, const Tensor& expected, const std::string& what) {
  ASSERT_EQ(actual.shape(), expected.shape()) << what;
  const std::vector<double> a = actual.to_vector<double>(), e = expected.to_vector<double>();
  double scale = 0.0;
  for (double v : e) scale = std::max(scale, std::abs(v));
  int bad = 0;
  std::size_t worst = 0;
  double worst_excess = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double excess = std::abs(a[i] - e[i]) - (1e-5 * std::abs(e[i]) + 1e-6 * scale);
    if (excess > 0 || !std::isfinite(a[i])) {
      ++bad;
      if (excess >= worst_excess) worst_excess = excess, worst = i;
    }
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << a.size() << " elements off; worst at " << worst << ": recgrad "
                    << a[worst] << " torch " << e[worst];
}

/// Loads the case's parameters into `module`, runs `forward` on the case's inputs (f32, requiring
/// gradients), backpropagates sum(out * w), and compares the output and all gradients with torch.
void check_case(const std::string& name, Module& module,
                const std::function<Tensor(const StateDict& inputs)>& forward) {
  SCOPED_TRACE(name);
  const StateDict fixture = load_case(name);
  StateDict params, inputs;
  for (const auto& [key, tensor] : fixture) {
    if (key.rfind("param.", 0) == 0) params.insert(key.substr(6), tensor);
    if (key.rfind("in.", 0) == 0) {
      Tensor input = raw::clone(tensor);
      if (is_floating(input.dtype())) input.requires_grad_();
      inputs.insert(key.substr(3), input);
    }
  }
  module.load_state_dict(params);
  const Tensor out = forward(inputs);
  expect_matches(out, fixture.at("out"), "output");
  sum(mul(out, fixture.at("w"))).backward();
  for (const auto& [key, input] : inputs) {
    if (const Tensor* expected = fixture.find("grad.in." + key)) {
      ASSERT_TRUE(input.grad().defined()) << key;
      expect_matches(input.grad(), *expected, "gradient of input " + key);
    }
  }
  int compared = 0;
  for (const auto& [key, param] : module.named_parameters()) {
    const Tensor* expected = fixture.find("grad.param." + key);
    ASSERT_NE(expected, nullptr) << "torch has no gradient for " << key;
    ASSERT_TRUE(param.grad().defined()) << key;
    expect_matches(param.grad(), *expected, "gradient of " + key);
    ++compared;
  }
  EXPECT_EQ(compared, static_cast<int>(params.size()));
}

}  // namespace

TEST(TransformerFixtures, MultiheadAttentionCausal) {
  MultiheadAttention mha(8, 2);
  check_case("mha_self_causal", mha, [&](const StateDict& in) {
    AttentionMasks masks;
    masks.causal = true;
    return mha.self_attention(in.at("x"), masks);
  });
}

TEST(TransformerFixtures, MultiheadAttentionLeftPadding) {
  MultiheadAttention mha(8, 2);
  check_case("mha_self_padding", mha, [&](const StateDict& in) {
    AttentionMasks masks;
    masks.key_padding_mask = in.at("padding");
    return mha.self_attention(in.at("x"), masks);
  });
}

TEST(TransformerFixtures, MultiheadCrossAttention) {
  MultiheadAttention mha(8, 2);
  check_case("mha_cross", mha, [&](const StateDict& in) {
    AttentionMasks masks;
    masks.key_padding_mask = in.at("padding");
    return mha.forward(in.at("q"), in.at("kv"), in.at("kv"), masks);
  });
}

TEST(TransformerFixtures, EncoderLayerPostNormRelu) {
  TransformerEncoderLayer layer(8, 2, 16, 0.0, FeedForwardActivation::relu, false);
  check_case("encoder_post_relu", layer, [&](const StateDict& in) {
    AttentionMasks masks;
    masks.causal = true;
    return layer.forward(in.at("x"), masks);
  });
}

TEST(TransformerFixtures, EncoderLayerPreNormGelu) {
  TransformerEncoderLayer layer(8, 2, 16, 0.0, FeedForwardActivation::gelu, true);
  check_case("encoder_pre_gelu", layer, [&](const StateDict& in) {
    AttentionMasks masks;
    masks.causal = true;
    return layer.forward(in.at("x"), masks);
  });
}

TEST(TransformerFixtures, DecoderLayerWithCrossAttention) {
  TransformerDecoderLayer layer(8, 2, 16, 0.0);
  check_case("decoder_post_relu", layer, [&](const StateDict& in) {
    AttentionMasks self_masks, memory_masks;
    self_masks.causal = true;
    memory_masks.key_padding_mask = in.at("padding");
    return layer.forward(in.at("target"), in.at("memory"), self_masks, memory_masks);
  });
}

TEST(TransformerFixtures, QwenDecoderLayer) {
  QwenDecoderLayer layer(16, 4, 2, 24);
  check_case("qwen_decoder", layer, [&](const StateDict& in) { return layer.forward(in.at("x")); });
}

TEST(TransformerFixtures, T5RelativePositionBuckets) {
  const StateDict fixture = load_case("t5_buckets");
  const std::vector<std::int64_t> positions = fixture.at("relative_position").to_vector<std::int64_t>();
  const RelativePositionBias encoder(2, true), decoder(2, false);
  const std::vector<std::int64_t> bidirectional = fixture.at("bidirectional").to_vector<std::int64_t>();
  const std::vector<std::int64_t> causal = fixture.at("causal").to_vector<std::int64_t>();
  for (std::size_t i = 0; i < positions.size(); ++i) {
    EXPECT_EQ(encoder.bucket(positions[i]), bidirectional[i]) << "relative position " << positions[i];
    EXPECT_EQ(decoder.bucket(positions[i]), causal[i]) << "relative position " << positions[i];
  }
}
