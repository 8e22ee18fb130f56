#include "nn/transformer.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/ops/activations.h"
#include "autograd/ops/binary.h"
#include "autograd/ops/view.h"
#include "core/factory.h"
#include "core/ops/copy.h"

namespace recgrad::nn {
namespace {

Tensor activate(const Tensor& x, FeedForwardActivation activation) {
  return activation == FeedForwardActivation::relu ? relu(x) : gelu(x);
}

void check_model_input(const Tensor& x, std::int64_t d_model, const char* layer) {
  RG_CHECK(x.dim() == 3 && x.size(2) == d_model, layer, ": expected [B, T, ", d_model, "], got ", x.shape());
}

}  // namespace

// ---- TransformerEncoderLayer ----

TransformerEncoderLayer::TransformerEncoderLayer(std::int64_t d_model, std::int64_t nhead, std::int64_t dim_feedforward,
                                                 double dropout, FeedForwardActivation activation, bool norm_first,
                                                 double layer_norm_eps)
    : norm_first(norm_first), activation(activation) {
  self_attn = register_module("self_attn", std::make_shared<MultiheadAttention>(d_model, nhead, dropout));
  linear1 = register_module("linear1", std::make_shared<Linear>(d_model, dim_feedforward));
  this->dropout = register_module("dropout", std::make_shared<Dropout>(dropout));
  linear2 = register_module("linear2", std::make_shared<Linear>(dim_feedforward, d_model));
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(Shape{d_model}, layer_norm_eps));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(Shape{d_model}, layer_norm_eps));
  dropout1 = register_module("dropout1", std::make_shared<Dropout>(dropout));
  dropout2 = register_module("dropout2", std::make_shared<Dropout>(dropout));
}

Tensor TransformerEncoderLayer::feed_forward(const Tensor& x) const {
  return linear2->forward(dropout->forward(activate(linear1->forward(x), activation)));
}

Tensor TransformerEncoderLayer::forward(const Tensor& x, const AttentionMasks& masks) const {
  check_model_input(x, self_attn->embed_dim, "TransformerEncoderLayer");
  if (norm_first) {
    const Tensor h = add(x, dropout1->forward(self_attn->self_attention(norm1->forward(x), masks)));
    return add(h, dropout2->forward(feed_forward(norm2->forward(h))));
  }
  const Tensor h = norm1->forward(add(x, dropout1->forward(self_attn->self_attention(x, masks))));
  return norm2->forward(add(h, dropout2->forward(feed_forward(h))));
}

// ---- TransformerDecoderLayer ----

TransformerDecoderLayer::TransformerDecoderLayer(std::int64_t d_model, std::int64_t nhead, std::int64_t dim_feedforward,
                                                 double dropout, FeedForwardActivation activation, bool norm_first,
                                                 double layer_norm_eps)
    : norm_first(norm_first), activation(activation) {
  self_attn = register_module("self_attn", std::make_shared<MultiheadAttention>(d_model, nhead, dropout));
  multihead_attn = register_module("multihead_attn", std::make_shared<MultiheadAttention>(d_model, nhead, dropout));
  linear1 = register_module("linear1", std::make_shared<Linear>(d_model, dim_feedforward));
  this->dropout = register_module("dropout", std::make_shared<Dropout>(dropout));
  linear2 = register_module("linear2", std::make_shared<Linear>(dim_feedforward, d_model));
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(Shape{d_model}, layer_norm_eps));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(Shape{d_model}, layer_norm_eps));
  norm3 = register_module("norm3", std::make_shared<LayerNorm>(Shape{d_model}, layer_norm_eps));
  dropout1 = register_module("dropout1", std::make_shared<Dropout>(dropout));
  dropout2 = register_module("dropout2", std::make_shared<Dropout>(dropout));
  dropout3 = register_module("dropout3", std::make_shared<Dropout>(dropout));
}

Tensor TransformerDecoderLayer::feed_forward(const Tensor& x) const {
  return linear2->forward(dropout->forward(activate(linear1->forward(x), activation)));
}

Tensor TransformerDecoderLayer::forward(const Tensor& target, const Tensor& memory, const AttentionMasks& self_masks,
                                        const AttentionMasks& memory_masks, KVCache* cache) const {
  check_model_input(target, self_attn->embed_dim, "TransformerDecoderLayer (target)");
  check_model_input(memory, self_attn->embed_dim, "TransformerDecoderLayer (memory)");
  auto cross = [&](const Tensor& x) { return multihead_attn->forward(x, memory, memory, memory_masks); };
  if (norm_first) {
    Tensor x = add(target, dropout1->forward(self_attn->self_attention(norm1->forward(target), self_masks, cache)));
    x = add(x, dropout2->forward(cross(norm2->forward(x))));
    return add(x, dropout3->forward(feed_forward(norm3->forward(x))));
  }
  Tensor x = norm1->forward(add(target, dropout1->forward(self_attn->self_attention(target, self_masks, cache))));
  x = norm2->forward(add(x, dropout2->forward(cross(x))));
  return norm3->forward(add(x, dropout3->forward(feed_forward(x))));
}

// ---- RelativePositionBias ----

RelativePositionBias::RelativePositionBias(std::int64_t num_heads, bool bidirectional, std::int64_t num_buckets,
                                           std::int64_t max_distance)
    : num_heads(num_heads), num_buckets(num_buckets), max_distance(max_distance), bidirectional(bidirectional) {
  RG_CHECK(num_heads > 0 && num_buckets >= 4 && max_distance > 0,
           "RelativePositionBias: needs num_heads > 0, num_buckets >= 4 and max_distance > 0, got ", num_heads, ", ",
           num_buckets, ", ", max_distance);
  relative_attention_bias =
      register_module("relative_attention_bias", std::make_shared<Embedding>(num_buckets, num_heads));
}

std::int64_t RelativePositionBias::bucket(std::int64_t relative_position) const {
  // As in T5 (Raffel et al. 2020, and Hugging Face's _relative_position_bucket).
  std::int64_t buckets = num_buckets, offset = 0, distance = 0;
  if (bidirectional) {
    buckets /= 2;
    if (relative_position > 0) offset = buckets;
    distance = std::abs(relative_position);
  } else {
    distance = std::max<std::int64_t>(-relative_position, 0);  // only keys at or before the query
  }
  const std::int64_t max_exact = buckets / 2;
  if (distance < max_exact) return offset + distance;
  const double log_ratio = std::log(static_cast<double>(distance) / static_cast<double>(max_exact)) /
                           std::log(static_cast<double>(max_distance) / static_cast<double>(max_exact));
  const auto large = max_exact + static_cast<std::int64_t>(log_ratio * static_cast<double>(buckets - max_exact));
  return offset + std::min(large, buckets - 1);
}

Tensor RelativePositionBias::forward(std::int64_t query_len, std::int64_t key_len, std::int64_t query_offset) const {
  std::vector<std::int64_t> buckets(static_cast<std::size_t>(query_len * key_len));
  for (std::int64_t i = 0; i < query_len; ++i)
    for (std::int64_t j = 0; j < key_len; ++j) buckets[i * key_len + j] = bucket(j - (i + query_offset));
  const Tensor index =
      raw::to_device(from_vector(buckets, {query_len, key_len}), relative_attention_bias->weight.device());
  const Tensor values = relative_attention_bias->forward(index);  // [Tq, Tk, H]
  return unsqueeze(permute(values, {2, 0, 1}), 0);                // [1, H, Tq, Tk]
}

// ---- SwiGLU and QwenDecoderLayer ----

SwiGLU::SwiGLU(std::int64_t hidden_size, std::int64_t intermediate_size) {
  gate_proj = register_module("gate_proj", std::make_shared<Linear>(hidden_size, intermediate_size, false));
  up_proj = register_module("up_proj", std::make_shared<Linear>(hidden_size, intermediate_size, false));
  down_proj = register_module("down_proj", std::make_shared<Linear>(intermediate_size, hidden_size, false));
}

Tensor SwiGLU::forward(const Tensor& x) const {
  return down_proj->forward(mul(silu(gate_proj->forward(x)), up_proj->forward(x)));
}

QwenDecoderLayer::QwenDecoderLayer(std::int64_t hidden_size, std::int64_t num_heads, std::int64_t num_kv_heads,
                                   std::int64_t intermediate_size, double rms_norm_eps, double rope_theta) {
  self_attn = register_module(
      "self_attn", std::make_shared<GroupedQueryAttention>(hidden_size, num_heads, num_kv_heads, 0, true, rope_theta));
  mlp = register_module("mlp", std::make_shared<SwiGLU>(hidden_size, intermediate_size));
  input_layernorm = register_module("input_layernorm", std::make_shared<RMSNorm>(Shape{hidden_size}, rms_norm_eps));
  post_attention_layernorm =
      register_module("post_attention_layernorm", std::make_shared<RMSNorm>(Shape{hidden_size}, rms_norm_eps));
}

Tensor QwenDecoderLayer::forward(const Tensor& x, const AttentionMasks& masks, KVCache* cache) const {
  check_model_input(x, self_attn->embed_dim, "QwenDecoderLayer");
  AttentionMasks causal = masks;
  causal.causal = true;
  const Tensor h = add(x, self_attn->forward(input_layernorm->forward(x), causal, cache));
  return add(h, mlp->forward(post_attention_layernorm->forward(h)));
}

}  // namespace recgrad::nn
