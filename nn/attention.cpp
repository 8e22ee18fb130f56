#include "nn/attention.h"

#include "autograd/ops/binary.h"
#include "autograd/ops/index.h"
#include "autograd/ops/matmul.h"
#include "autograd/ops/view.h"
#include "core/factory.h"
#include "nn/init.h"

namespace recgrad::nn {

Tensor split_heads(const Tensor& x, std::int64_t heads) {
  RG_CHECK(x.dim() == 3 && x.size(2) % heads == 0, "split_heads: expected [B, T, H * D] with H = ", heads, ", got ",
           x.shape());
  return transpose(reshape(x, {x.size(0), x.size(1), heads, x.size(2) / heads}), 1, 2);
}

Tensor merge_heads(const Tensor& x) {
  RG_CHECK(x.dim() == 4, "merge_heads: expected [B, H, T, D], got ", x.shape());
  return reshape(transpose(x, 1, 2), {x.size(0), x.size(2), x.size(1) * x.size(3)});
}

namespace {

/// Appends the new keys/values to the cache (if any) and returns what the queries attend to, plus the
/// causal offset: the queries are the last Tq of Tk positions.
struct AttendedKV {
  Tensor keys, values;
  std::int64_t causal_offset = 0;
};
AttendedKV use_cache(const Tensor& k, const Tensor& v, KVCache* cache) {
  if (cache == nullptr) return {k, v, 0};
  if (cache->keys.defined()) {
    RG_CHECK(cache->keys.size(0) == k.size(0) && cache->keys.size(1) == k.size(1) && cache->keys.size(3) == k.size(3),
             "attention: KV cache holds keys ", cache->keys.shape(), " but the new keys are ", k.shape());
    cache->keys = cat({cache->keys, k}, 2);
    cache->values = cat({cache->values, v}, 2);
  } else {
    cache->keys = k;
    cache->values = v;
  }
  return {cache->keys, cache->values, cache->keys.size(2) - k.size(2)};
}

}  // namespace

AttentionOptions options_for(const AttentionMasks& masks, std::int64_t causal_offset, double dropout, bool training) {
  AttentionOptions options;
  options.causal = masks.causal;
  options.causal_offset = causal_offset;
  options.key_padding_mask = masks.key_padding_mask;
  options.attn_mask = masks.attn_mask;
  options.bias = masks.bias;
  options.dropout = dropout;
  options.training = training;
  return options;
}

MultiheadAttention::MultiheadAttention(std::int64_t embed_dim, std::int64_t num_heads, double dropout, bool bias)
    : embed_dim(embed_dim), num_heads(num_heads), dropout(dropout) {
  RG_CHECK(embed_dim > 0 && num_heads > 0 && embed_dim % num_heads == 0,
           "MultiheadAttention: embed_dim must be a positive multiple of num_heads, got ", embed_dim, " and ",
           num_heads);
  RG_CHECK(dropout >= 0.0 && dropout < 1.0, "MultiheadAttention: dropout must be in [0, 1), got ", dropout);
  in_proj_weight = register_parameter("in_proj_weight", empty({3 * embed_dim, embed_dim}));
  if (bias) in_proj_bias = register_parameter("in_proj_bias", zeros({3 * embed_dim}));
  out_proj = register_module("out_proj", std::make_shared<Linear>(embed_dim, embed_dim, bias));
  init::xavier_uniform_(in_proj_weight);
  if (bias) init::zeros_(out_proj->bias);
}

Tensor MultiheadAttention::attend(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionMasks& masks,
                                  KVCache* cache) const {
  const AttendedKV kv = use_cache(split_heads(k, num_heads), split_heads(v, num_heads), cache);
  const Tensor heads = scaled_dot_product_attention(split_heads(q, num_heads), kv.keys, kv.values,
                                                    options_for(masks, kv.causal_offset, dropout, is_training()));
  return out_proj->forward(merge_heads(heads));
}

Tensor MultiheadAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                   const AttentionMasks& masks, KVCache* cache) const {
  RG_CHECK(query.dim() == 3 && key.dim() == 3 && value.dim() == 3 && query.size(2) == embed_dim &&
               key.size(2) == embed_dim && value.size(2) == embed_dim && key.size(1) == value.size(1) &&
               key.size(0) == query.size(0) && value.size(0) == query.size(0),
           "MultiheadAttention: expected query [B, Tq, ", embed_dim, "] and key/value [B, Tk, ", embed_dim, "], got ",
           query.shape(), ", ", key.shape(), ", ", value.shape());
  auto project = [&](const Tensor& x, std::int64_t part) {
    const Tensor w = narrow(in_proj_weight, 0, part * embed_dim, embed_dim);
    const Tensor b = in_proj_bias.defined() ? narrow(in_proj_bias, 0, part * embed_dim, embed_dim) : Tensor();
    return linear(x, w, b);
  };
  return attend(project(query, 0), project(key, 1), project(value, 2), masks, cache);
}

Tensor MultiheadAttention::self_attention(const Tensor& x, const AttentionMasks& masks, KVCache* cache) const {
  RG_CHECK(x.dim() == 3 && x.size(2) == embed_dim, "MultiheadAttention: expected x [B, T, ", embed_dim, "], got ",
           x.shape());
  const Tensor qkv = linear(x, in_proj_weight, in_proj_bias);  // one GEMM for q, k and v
  return attend(narrow(qkv, 2, 0, embed_dim), narrow(qkv, 2, embed_dim, embed_dim),
                narrow(qkv, 2, 2 * embed_dim, embed_dim), masks, cache);
}

GroupedQueryAttention::GroupedQueryAttention(std::int64_t embed_dim, std::int64_t num_heads, std::int64_t num_kv_heads,
                                             std::int64_t head_dim, bool qkv_bias, double rope_theta, double dropout)
    : embed_dim(embed_dim),
      num_heads(num_heads),
      num_kv_heads(num_kv_heads),
      head_dim(head_dim > 0 ? head_dim : (num_heads > 0 ? embed_dim / num_heads : 0)),
      dropout(dropout) {
  RG_CHECK(
      embed_dim > 0 && num_heads > 0 && num_kv_heads > 0 && num_heads % num_kv_heads == 0 && this->head_dim > 0,
      "GroupedQueryAttention: needs embed_dim > 0 and num_heads a positive multiple of num_kv_heads, got embed_dim ",
      embed_dim, ", num_heads ", num_heads, ", num_kv_heads ", num_kv_heads);
  q_proj = register_module("q_proj", std::make_shared<Linear>(embed_dim, num_heads * this->head_dim, qkv_bias));
  k_proj = register_module("k_proj", std::make_shared<Linear>(embed_dim, num_kv_heads * this->head_dim, qkv_bias));
  v_proj = register_module("v_proj", std::make_shared<Linear>(embed_dim, num_kv_heads * this->head_dim, qkv_bias));
  o_proj = register_module("o_proj", std::make_shared<Linear>(num_heads * this->head_dim, embed_dim, false));
  if (rope_theta > 0) rope.emplace(this->head_dim, rope_theta);
}

Tensor GroupedQueryAttention::forward(const Tensor& x, const AttentionMasks& masks, KVCache* cache) const {
  RG_CHECK(x.dim() == 3 && x.size(2) == embed_dim, "GroupedQueryAttention: expected x [B, T, ", embed_dim, "], got ",
           x.shape());
  const std::int64_t offset = cache != nullptr ? cache->length() : 0;
  Tensor q = split_heads(q_proj->forward(x), num_heads);
  Tensor k = split_heads(k_proj->forward(x), num_kv_heads);
  const Tensor v = split_heads(v_proj->forward(x), num_kv_heads);
  if (rope) {
    q = rope->apply(q, offset);
    k = rope->apply(k, offset);
  }
  const AttendedKV kv = use_cache(k, v, cache);
  const Tensor heads =
      scaled_dot_product_attention(q, kv.keys, kv.values, options_for(masks, kv.causal_offset, dropout, is_training()));
  return o_proj->forward(merge_heads(heads));
}

}  // namespace recgrad::nn
