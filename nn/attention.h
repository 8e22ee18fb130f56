// Multi-head attention layers: torch.nn.MultiheadAttention (packed input projection; self- and
// cross-attention) and the grouped-query attention of Qwen-style decoders (separate q/k/v/o projections,
// fewer key/value heads than query heads, RoPE). Both keep an optional key/value cache for incremental
// decoding whose results equal recomputing the whole sequence.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "autograd/ops/attention.h"
#include "nn/linear.h"
#include "nn/module.h"
#include "nn/positional.h"

namespace recgrad::nn {

/// Keys and values [B, Hkv, T, D] of the positions decoded so far (after projection and RoPE).
/// Start with an empty cache; each forward with it appends the new positions.
struct KVCache {
  Tensor keys;
  Tensor values;
  /// Number of cached positions.
  std::int64_t length() const { return keys.defined() ? keys.size(2) : 0; }
};

/// The masks of one attention call (true = masked), see AttentionOptions.
struct AttentionMasks {
  bool causal = false;
  Tensor key_padding_mask;  // [B, Tk]
  Tensor attn_mask;         // broadcastable to [B, H, Tq, Tk]
  Tensor bias;              // additive, broadcastable to [B, H, Tq, Tk] (e.g. T5 relative position bias)
};

/// The options of scaled_dot_product_attention for a layer's call: its masks, the causal offset of a KV cache
/// (the queries are the last Tq of Tk positions), its dropout, and whether it is training.
AttentionOptions options_for(const AttentionMasks& masks, std::int64_t causal_offset, double dropout, bool training);

/// torch.nn.MultiheadAttention with batch_first=True:
///   q = query W_q^T + b_q,  k = key W_k^T + b_k,  v = value W_v^T + b_v   (W_q|W_k|W_v = in_proj_weight [3E, E])
///   heads: split E into H heads of D = E / H;  o_h = attention(q_h, k_h, v_h);  out = concat(o_h) W_o^T + b_o.
/// Parameters in_proj_weight (xavier uniform), in_proj_bias (zeros), out_proj.weight, out_proj.bias (zeros),
/// as in PyTorch. Dropout applies to the attention probabilities while training.
class MultiheadAttention : public Module {
 public:
  MultiheadAttention(std::int64_t embed_dim, std::int64_t num_heads, double dropout = 0.0, bool bias = true);

  /// query [B, Tq, E], key/value [B, Tk, E] -> [B, Tq, E]. With `cache`, key/value are the new positions only;
  /// they are appended to the cache and the queries attend to every cached position (causal masks are
  /// offset so that query i is position cache_length + i).
  Tensor forward(const Tensor& query, const Tensor& key, const Tensor& value, const AttentionMasks& masks = {},
                 KVCache* cache = nullptr) const;
  /// Self-attention: forward(x, x, x, ...), with one fused input projection.
  Tensor self_attention(const Tensor& x, const AttentionMasks& masks = {}, KVCache* cache = nullptr) const;

  std::int64_t embed_dim;
  std::int64_t num_heads;
  double dropout;
  Tensor in_proj_weight;
  Tensor in_proj_bias;  // undefined without bias
  std::shared_ptr<Linear> out_proj;

 private:
  Tensor attend(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionMasks& masks, KVCache* cache) const;
};

/// Grouped-query attention as in Qwen2: q_proj [H*D, E], k_proj and v_proj [Hkv*D, E] (with biases when
/// qkv_bias), o_proj [E, H*D] without bias; RoPE on q and k (when rope_theta > 0); query head h uses key/value
/// head h / (H / Hkv).
class GroupedQueryAttention : public Module {
 public:
  GroupedQueryAttention(std::int64_t embed_dim, std::int64_t num_heads, std::int64_t num_kv_heads,
                        std::int64_t head_dim = 0, bool qkv_bias = true, double rope_theta = 10000.0,
                        double dropout = 0.0);

  /// x [B, T, E] -> [B, T, E]. With `cache`, x holds the new positions; RoPE positions continue from the
  /// cache length.
  Tensor forward(const Tensor& x, const AttentionMasks& masks = {}, KVCache* cache = nullptr) const;

  std::int64_t embed_dim, num_heads, num_kv_heads, head_dim;
  double dropout;
  std::shared_ptr<Linear> q_proj, k_proj, v_proj, o_proj;
  std::optional<RotaryEmbedding> rope;
};

/// [B, T, H * D] -> [B, H, T, D].
Tensor split_heads(const Tensor& x, std::int64_t heads);
/// [B, H, T, D] -> [B, T, H * D].
Tensor merge_heads(const Tensor& x);

}  // namespace recgrad::nn
