#include "nn/t5.h"

#include <cmath>

#include "autograd/ops/activations.h"
#include "autograd/ops/binary.h"
#include "autograd/ops/index.h"
#include "autograd/ops/view.h"
#include "nn/init.h"

namespace recgrad::nn {
namespace {

// A bias-free Linear initialised as T5 does: weight ~ N(0, std^2).
std::shared_ptr<Linear> t5_linear(std::int64_t in, std::int64_t out, double std) {
  auto linear = std::make_shared<Linear>(in, out, /*bias=*/false);
  init::normal_(linear->weight, 0.0, std);
  return linear;
}

}  // namespace

// Initialisation of HF's T5PreTrainedModel._init_weights (factor 1): q ~ N(0, (d Dkv)^-1/2), k and v
// ~ N(0, d^-1/2), o ~ N(0, (H Dkv)^-1/2).
T5Attention::T5Attention(std::int64_t d_model, std::int64_t num_heads, std::int64_t head_dim, double dropout)
    : d_model(d_model), num_heads(num_heads), head_dim(head_dim), dropout(dropout) {
  RG_CHECK(d_model > 0 && num_heads > 0 && head_dim > 0,
           "T5Attention: d_model, num_heads and head_dim must be "
           "positive, got ",
           d_model, ", ", num_heads, ", ", head_dim);
  RG_CHECK(dropout >= 0 && dropout < 1, "T5Attention: dropout must be in [0, 1), got ", dropout);
  const std::int64_t inner = num_heads * head_dim;
  const auto d = static_cast<double>(d_model);
  q = register_module("q", t5_linear(d_model, inner, 1.0 / std::sqrt(d * static_cast<double>(head_dim))));
  k = register_module("k", t5_linear(d_model, inner, 1.0 / std::sqrt(d)));
  v = register_module("v", t5_linear(d_model, inner, 1.0 / std::sqrt(d)));
  o = register_module("o", t5_linear(inner, d_model, 1.0 / std::sqrt(static_cast<double>(inner))));
}

Tensor T5Attention::attend(const Tensor& queries, const Tensor& keys, const Tensor& values, const AttentionMasks& masks,
                           std::int64_t causal_offset) const {
  AttentionOptions options = options_for(masks, causal_offset, dropout, is_training());
  options.scale = 1.0;  // T5 does not scale the dot products
  return o->forward(merge_heads(scaled_dot_product_attention(queries, keys, values, options)));
}

Tensor T5Attention::self_attention(const Tensor& x, const AttentionMasks& masks, KVCache* cache) const {
  RG_CHECK(x.dim() == 3 && x.size(2) == d_model, "T5Attention: expected x [B, T, ", d_model, "], got ", x.shape());
  const Tensor queries = split_heads(q->forward(x), num_heads);
  Tensor keys = split_heads(k->forward(x), num_heads);
  Tensor values = split_heads(v->forward(x), num_heads);
  std::int64_t offset = 0;
  if (cache != nullptr) {
    if (cache->keys.defined()) {
      RG_CHECK(cache->keys.size(0) == keys.size(0) && cache->keys.size(1) == num_heads,
               "T5Attention: the KV cache holds keys ", cache->keys.shape(), " but the new keys are ", keys.shape());
      offset = cache->length();
      cache->keys = cat({cache->keys, keys}, 2);
      cache->values = cat({cache->values, values}, 2);
    } else {
      cache->keys = keys;
      cache->values = values;
    }
    keys = cache->keys;
    values = cache->values;
  }
  return attend(queries, keys, values, masks, offset);
}

T5CrossCache T5Attention::cross_keys_values(const Tensor& source) const {
  RG_CHECK(source.dim() == 3 && source.size(2) == d_model, "T5Attention: expected the source [B, Ts, ", d_model,
           "], got ", source.shape());
  return {split_heads(k->forward(source), num_heads), split_heads(v->forward(source), num_heads)};
}

Tensor T5Attention::cross_attention(const Tensor& x, const T5CrossCache& source, const AttentionMasks& masks) const {
  RG_CHECK(x.dim() == 3 && x.size(2) == d_model, "T5Attention: expected x [B, T, ", d_model, "], got ", x.shape());
  RG_CHECK(source.keys.defined() && source.keys.size(0) == x.size(0), "T5Attention: cross-attention keys ",
           source.keys.defined() ? source.keys.shape() : Shape{}, " do not match the batch of x ", x.shape());
  return attend(split_heads(q->forward(x), num_heads), source.keys, source.values, masks, 0);
}

// wi ~ N(0, d^-1/2), wo ~ N(0, d_ff^-1/2), as HF initialises T5DenseActDense.
T5FeedForward::T5FeedForward(std::int64_t d_model, std::int64_t d_ff, double dropout) {
  RG_CHECK(d_model > 0 && d_ff > 0, "T5FeedForward: d_model and d_ff must be positive, got ", d_model, " and ", d_ff);
  wi = register_module("wi", t5_linear(d_model, d_ff, 1.0 / std::sqrt(static_cast<double>(d_model))));
  wo = register_module("wo", t5_linear(d_ff, d_model, 1.0 / std::sqrt(static_cast<double>(d_ff))));
  this->dropout = register_module("dropout", std::make_shared<Dropout>(dropout));
}

Tensor T5FeedForward::forward(const Tensor& x) const { return wo->forward(dropout->forward(relu(wi->forward(x)))); }

T5EncoderLayer::T5EncoderLayer(const T5LayerOptions& o) {
  self_attn_norm = register_module("self_attn_norm", std::make_shared<RMSNorm>(Shape{o.d_model}, o.norm_eps));
  self_attn =
      register_module("self_attn", std::make_shared<T5Attention>(o.d_model, o.num_heads, o.head_dim, o.dropout));
  feed_forward_norm = register_module("feed_forward_norm", std::make_shared<RMSNorm>(Shape{o.d_model}, o.norm_eps));
  feed_forward = register_module("feed_forward", std::make_shared<T5FeedForward>(o.d_model, o.d_ff, o.dropout));
  dropout = register_module("dropout", std::make_shared<Dropout>(o.dropout));
}

Tensor T5EncoderLayer::forward(const Tensor& x, const AttentionMasks& masks) const {
  const Tensor h = add(x, dropout->forward(self_attn->self_attention(self_attn_norm->forward(x), masks)));
  return add(h, dropout->forward(feed_forward->forward(feed_forward_norm->forward(h))));
}

T5DecoderLayer::T5DecoderLayer(const T5LayerOptions& o) {
  self_attn_norm = register_module("self_attn_norm", std::make_shared<RMSNorm>(Shape{o.d_model}, o.norm_eps));
  self_attn =
      register_module("self_attn", std::make_shared<T5Attention>(o.d_model, o.num_heads, o.head_dim, o.dropout));
  cross_attn_norm = register_module("cross_attn_norm", std::make_shared<RMSNorm>(Shape{o.d_model}, o.norm_eps));
  cross_attn =
      register_module("cross_attn", std::make_shared<T5Attention>(o.d_model, o.num_heads, o.head_dim, o.dropout));
  feed_forward_norm = register_module("feed_forward_norm", std::make_shared<RMSNorm>(Shape{o.d_model}, o.norm_eps));
  feed_forward = register_module("feed_forward", std::make_shared<T5FeedForward>(o.d_model, o.d_ff, o.dropout));
  dropout = register_module("dropout", std::make_shared<Dropout>(o.dropout));
}

Tensor T5DecoderLayer::forward(const Tensor& x, const AttentionMasks& self_masks, const T5CrossCache& source,
                               const AttentionMasks& source_masks, KVCache* cache,
                               std::int64_t sequences_per_source) const {
  RG_CHECK(sequences_per_source >= 1 && x.dim() == 3 && x.size(0) % sequences_per_source == 0,
           "T5DecoderLayer: ", x.size(0), " sequences do not split into groups of ", sequences_per_source);
  Tensor h = add(x, dropout->forward(self_attn->self_attention(self_attn_norm->forward(x), self_masks, cache)));
  Tensor queries = cross_attn_norm->forward(h);
  const Shape shape = queries.shape();
  if (sequences_per_source > 1) {
    queries = reshape(queries, {shape[0] / sequences_per_source, sequences_per_source * shape[1], shape[2]});
  }
  Tensor attended = cross_attn->cross_attention(queries, source, source_masks);
  if (sequences_per_source > 1) attended = reshape(attended, shape);
  h = add(h, dropout->forward(attended));
  return add(h, dropout->forward(feed_forward->forward(feed_forward_norm->forward(h))));
}

}  // namespace recgrad::nn
