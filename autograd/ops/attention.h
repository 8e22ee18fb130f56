// Scaled dot-product attention, the core of every Transformer layer:
//   scores = q k^T * scale + bias,  scores[i, j] = -inf where masked,
//   p = softmax(scores) over keys (dropout on p while training),  out = p v.
// A query row whose keys are all masked gets p = 0 and out = 0 (never NaN), and no gradient.
// Composed of differentiable ops (matmul, masked_fill, softmax, dropout), so its backward is theirs and it
// runs on any device those ops run on.
#pragma once

#include <cstdint>
#include <optional>

#include "core/rng.h"
#include "core/tensor.h"

namespace recgrad {

/// The masks and options of scaled_dot_product_attention. Boolean masks use PyTorch's convention for
/// key_padding_mask and attn_mask: true = this key is NOT attended.
struct AttentionOptions {
  /// Query i attends key j only if j <= i + causal_offset. With a key/value cache the queries are the last
  /// Tq of Tk positions, so the offset is Tk - Tq (that is what the layers pass).
  bool causal = false;
  std::int64_t causal_offset = 0;
  /// [B, Tk] b8, true marks padding keys (left-padded item histories).
  Tensor key_padding_mask;
  /// b8 broadcastable to [B, H, Tq, Tk], true = masked.
  Tensor attn_mask;
  /// Additive float bias broadcastable to [B, H, Tq, Tk] (T5's relative position bias); differentiable.
  Tensor bias;
  /// Dropout on the attention probabilities while training.
  double dropout = 0.0;
  bool training = false;
  Generator* generator = nullptr;
  /// Multiplies q k^T; default 1 / sqrt(head_dim).
  std::optional<double> scale;
};

/// q [B, H, Tq, D], k [B, Hkv, Tk, D], v [B, Hkv, Tk, Dv] -> [B, H, Tq, Dv]. H must be a multiple of Hkv:
/// with Hkv < H (grouped-query attention) query head h uses key/value head h / (H / Hkv).
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& options = {});

/// The combined boolean mask [B or 1, 1 or H, Tq, Tk] (true = masked) that `options` describe for these
/// sizes, or an undefined tensor when nothing is masked. On `device`.
Tensor attention_mask(const AttentionOptions& options, std::int64_t batch, std::int64_t query_len, std::int64_t key_len,
                      Device device);

/// k or v [B, Hkv, T, D] repeated to [B, Hkv * groups, T, D] (each kv head serves `groups` query heads,
/// consecutive query heads sharing one kv head); differentiable (the gradient sums over the group).
Tensor repeat_kv_heads(const Tensor& kv, std::int64_t groups);

}  // namespace recgrad
