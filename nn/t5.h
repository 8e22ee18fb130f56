// T5's encoder and decoder layers (Raffel et al. 2020, as Hugging Face's modeling_t5 computes them), the blocks of
// TIGER's sequence-to-sequence model:
//   - RMSNorm before every sub-layer (T5LayerNorm: no mean subtraction, no bias, eps 1e-6), residual after it;
//   - bias-free projections; multi-head attention with separate q, k, v, o matrices [H*Dkv, d] / [d, H*Dkv];
//   - unscaled dot products (scores = q k^T, no 1/sqrt(Dkv): T5's initialisation absorbs the scale) plus the
//     relative position bias of nn::RelativePositionBias, computed once per stack and passed to every layer;
//   - a ReLU feed-forward wo(dropout(relu(wi(x)))), dropout on each sub-layer's output and on the attention
//     probabilities.
//
//   encoder layer:  x = x + dropout(self_attn(norm(x), bias));  x = x + dropout(ff(norm(x)))
//   decoder layer:  x = x + dropout(self_attn(norm(x), causal bias));
//                   x = x + dropout(cross_attn(norm(x), encoder output));  x = x + dropout(ff(norm(x)))
// The cross-attention has no position bias (as in T5). The decoder's self-attention keeps a KV cache for
// incremental decoding; the cross-attention's keys and values depend only on the encoder output, so a decoder
// computes them once per sequence (T5CrossCache) and reuses them at every step.
#pragma once

#include <cstdint>
#include <memory>

#include "nn/attention.h"
#include "nn/dropout.h"
#include "nn/linear.h"
#include "nn/module.h"
#include "nn/rms_norm.h"

namespace recgrad::nn {

/// The keys and values [B, H, Ts, Dkv] that a cross-attention computed from an encoder output.
struct T5CrossCache {
  Tensor keys;
  Tensor values;
};

/// T5's attention: q = x Wq^T, k = s Wk^T, v = s Wv^T (s = x, or the encoder output for cross-attention),
/// heads of Dkv, o_h = softmax(q_h k_h^T + bias_h + mask) v_h (dropout on the probabilities while training),
/// out = concat(o_h) Wo^T. Parameters q, k, v [H*Dkv, d], o [d, H*Dkv], all without bias.
class T5Attention : public Module {
 public:
  T5Attention(std::int64_t d_model, std::int64_t num_heads, std::int64_t head_dim, double dropout);

  /// Self-attention: x [B, T, d] -> [B, T, d]; masks.bias holds the position bias, masks.causal the decoder's
  /// causality. With `cache`, x holds the new positions only and attends to every cached one too.
  Tensor self_attention(const Tensor& x, const AttentionMasks& masks, KVCache* cache = nullptr) const;
  /// The keys and values of `source` [B, Ts, d] for cross-attention.
  T5CrossCache cross_keys_values(const Tensor& source) const;
  /// Cross-attention of x [B, T, d] to precomputed keys and values; masks.key_padding_mask marks the source's
  /// padding.
  Tensor cross_attention(const Tensor& x, const T5CrossCache& source, const AttentionMasks& masks) const;

  std::int64_t d_model, num_heads, head_dim;
  double dropout;
  std::shared_ptr<Linear> q, k, v, o;

 private:
  Tensor attend(const Tensor& queries, const Tensor& keys, const Tensor& values, const AttentionMasks& masks,
                std::int64_t causal_offset) const;
};

/// T5's feed-forward ("DenseReluDense"): wo(dropout(relu(wi(x)))), wi [d_ff, d], wo [d, d_ff], no biases.
class T5FeedForward : public Module {
 public:
  T5FeedForward(std::int64_t d_model, std::int64_t d_ff, double dropout);
  Tensor forward(const Tensor& x) const;

  std::shared_ptr<Linear> wi, wo;
  std::shared_ptr<Dropout> dropout;
};

/// Sizes and dropout of a T5 stack's layers.
struct T5LayerOptions {
  std::int64_t d_model = 128;
  std::int64_t num_heads = 4;
  std::int64_t head_dim = 32;  // Dkv; T5 allows num_heads * head_dim != d_model
  std::int64_t d_ff = 512;
  double dropout = 0.1;
  double norm_eps = 1e-6;
};

/// One encoder layer (see the top of this file).
class T5EncoderLayer : public Module {
 public:
  explicit T5EncoderLayer(const T5LayerOptions& options);
  /// x [B, T, d] -> [B, T, d]; masks: the position bias [1, H, T, T] and the input's key padding.
  Tensor forward(const Tensor& x, const AttentionMasks& masks) const;

  std::shared_ptr<RMSNorm> self_attn_norm, feed_forward_norm;
  std::shared_ptr<T5Attention> self_attn;
  std::shared_ptr<T5FeedForward> feed_forward;
  std::shared_ptr<Dropout> dropout;
};

/// One decoder layer (see the top of this file).
class T5DecoderLayer : public Module {
 public:
  explicit T5DecoderLayer(const T5LayerOptions& options);
  /// x [B, T, d] -> [B, T, d]. `self_masks`: the causal position bias; `source`: this layer's cross keys and
  /// values of the encoder output (cross_keys_values), `source_masks`: the encoder input's padding. With `cache`,
  /// x holds the new positions only.
  ///
  /// `sequences_per_source` > 1 lets G consecutive sequences share one source (the beams of one user in beam
  /// search): x is [S * G, T, d] for a source of S rows, and the cross-attention reads x as [S, G * T, d], so the
  /// source's keys and values are never copied per sequence.
  Tensor forward(const Tensor& x, const AttentionMasks& self_masks, const T5CrossCache& source,
                 const AttentionMasks& source_masks, KVCache* cache = nullptr,
                 std::int64_t sequences_per_source = 1) const;

  std::shared_ptr<RMSNorm> self_attn_norm, cross_attn_norm, feed_forward_norm;
  std::shared_ptr<T5Attention> self_attn, cross_attn;
  std::shared_ptr<T5FeedForward> feed_forward;
  std::shared_ptr<Dropout> dropout;
};

}  // namespace recgrad::nn
