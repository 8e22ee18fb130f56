// The attention layers and Transformer blocks against PyTorch (tests/fixtures/make_transformer_fixtures.py):
// MultiheadAttention (causal, left padding, cross-attention), TransformerEncoderLayer (post-norm ReLU,
// pre-norm GELU), TransformerDecoderLayer, a Qwen2-style decoder layer, T5's relative position buckets, and
// T5's encoder and decoder layers (tests/fixtures/make_t5_fixtures.py).
// Weights come from the fixture through safetensors under their PyTorch names; in f32 the output and every
// gradient (inputs and parameters) match the float64 torch reference to 1e-5 relative.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

#include "fixture_check.h"
#include "nn/attention.h"
#include "nn/safetensors.h"
#include "nn/t5.h"
#include "nn/transformer.h"
#include "recgrad.h"

using namespace recgrad;
using namespace recgrad::nn;

namespace {

StateDict load_case(const std::string& name) { return recgrad::testing::load_fixture("nn", name); }

void check_case(const std::string& name, Module& module,
                const std::function<Tensor(const StateDict& inputs)>& forward) {
  recgrad::testing::check_fixture_case("nn", name, module, forward);
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

TEST(TransformerFixtures, T5EncoderLayer) {
  T5EncoderLayer layer({.d_model = 8, .num_heads = 2, .head_dim = 3, .d_ff = 16, .dropout = 0.0});
  check_case("t5_encoder_layer", layer, [&](const StateDict& in) {
    AttentionMasks masks;
    masks.bias = in.at("bias");
    masks.key_padding_mask = in.at("padding");
    return layer.forward(in.at("x"), masks);
  });
}

TEST(TransformerFixtures, T5DecoderLayer) {
  T5DecoderLayer layer({.d_model = 8, .num_heads = 2, .head_dim = 3, .d_ff = 16, .dropout = 0.0});
  check_case("t5_decoder_layer", layer, [&](const StateDict& in) {
    AttentionMasks self_masks, source_masks;
    self_masks.causal = true;
    self_masks.bias = in.at("bias");
    source_masks.key_padding_mask = in.at("padding");
    return layer.forward(in.at("x"), self_masks, layer.cross_attn->cross_keys_values(in.at("memory")), source_masks);
  });
}
