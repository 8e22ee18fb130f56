// Transformer blocks for the recommenders:
//   TransformerEncoderLayer  SASRec's block; torch.nn.TransformerEncoderLayer (pre- or post-norm)
//   TransformerDecoderLayer  the decoder half of an encoder-decoder (TIGER): self-attention, cross-attention
//                            to the encoder output, feed-forward; torch.nn.TransformerDecoderLayer
//   RelativePositionBias     T5's bucketed relative position bias, added to the attention scores
//   SwiGLU, QwenDecoderLayer the decoder-only block of Qwen-style models (MiniOneRec): RMSNorm, RoPE,
//                            grouped-query attention, SwiGLU feed-forward
// Parameter names follow the PyTorch / Hugging Face modules, so their state dicts load directly.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "nn/attention.h"
#include "nn/dropout.h"
#include "nn/embedding.h"
#include "nn/layer_norm.h"
#include "nn/linear.h"
#include "nn/module.h"
#include "nn/rms_norm.h"

namespace recgrad::nn {

enum class FeedForwardActivation { relu, gelu };

/// torch.nn.TransformerEncoderLayer(batch_first=True). With ff(x) = linear2(dropout(act(linear1(x)))):
///   post-norm: x = norm1(x + dropout1(self_attn(x)));  x = norm2(x + dropout2(ff(x)))
///   pre-norm (norm_first): x = x + dropout1(self_attn(norm1(x)));  x = x + dropout2(ff(norm2(x)))
class TransformerEncoderLayer : public Module {
 public:
  TransformerEncoderLayer(std::int64_t d_model, std::int64_t nhead, std::int64_t dim_feedforward = 2048,
                          double dropout = 0.1, FeedForwardActivation activation = FeedForwardActivation::relu,
                          bool norm_first = false, double layer_norm_eps = 1e-5);

  /// x [B, T, d_model] -> [B, T, d_model]; masks as in MultiheadAttention (causal for SASRec).
  Tensor forward(const Tensor& x, const AttentionMasks& masks = {}) const;

  bool norm_first;
  FeedForwardActivation activation;
  std::shared_ptr<MultiheadAttention> self_attn;
  std::shared_ptr<Linear> linear1, linear2;
  std::shared_ptr<Dropout> dropout, dropout1, dropout2;
  std::shared_ptr<LayerNorm> norm1, norm2;

 private:
  Tensor feed_forward(const Tensor& x) const;
};

/// torch.nn.TransformerDecoderLayer(batch_first=True): self-attention over the target, cross-attention
/// from the target to `memory` (the encoder output), feed-forward; pre- or post-norm like the encoder layer
/// (norm1/norm2/norm3 around the three sub-layers).
class TransformerDecoderLayer : public Module {
 public:
  TransformerDecoderLayer(std::int64_t d_model, std::int64_t nhead, std::int64_t dim_feedforward = 2048,
                          double dropout = 0.1, FeedForwardActivation activation = FeedForwardActivation::relu,
                          bool norm_first = false, double layer_norm_eps = 1e-5);

  /// target [B, Tt, d_model], memory [B, Ts, d_model] -> [B, Tt, d_model]. `self_masks` (usually causal)
  /// apply to the self-attention, `memory_masks` (the source's padding) to the cross-attention. With
  /// `cache`, target holds the new positions only (incremental decoding; cross-attention recomputes its
  /// keys from memory).
  Tensor forward(const Tensor& target, const Tensor& memory, const AttentionMasks& self_masks = {},
                 const AttentionMasks& memory_masks = {}, KVCache* cache = nullptr) const;

  bool norm_first;
  FeedForwardActivation activation;
  std::shared_ptr<MultiheadAttention> self_attn, multihead_attn;
  std::shared_ptr<Linear> linear1, linear2;
  std::shared_ptr<Dropout> dropout, dropout1, dropout2, dropout3;
  std::shared_ptr<LayerNorm> norm1, norm2, norm3;

 private:
  Tensor feed_forward(const Tensor& x) const;
};

/// T5's relative position bias: the signed distance key - query is mapped to one of num_buckets buckets
/// (exact for small distances, logarithmic up to max_distance; bidirectional for encoders, causal-only for
/// decoders) and each bucket has a learned bias per head:
///   bias[0, h, i, j] = relative_attention_bias.weight[bucket(j - i), h].
class RelativePositionBias : public Module {
 public:
  RelativePositionBias(std::int64_t num_heads, bool bidirectional, std::int64_t num_buckets = 32,
                       std::int64_t max_distance = 128);

  /// The additive bias [1, H, Tq, Tk] for queries at positions query_offset..query_offset+Tq-1.
  Tensor forward(std::int64_t query_len, std::int64_t key_len, std::int64_t query_offset = 0) const;
  /// T5's bucket of a relative position (key - query).
  std::int64_t bucket(std::int64_t relative_position) const;

  std::int64_t num_heads, num_buckets, max_distance;
  bool bidirectional;
  std::shared_ptr<Embedding> relative_attention_bias;  // [num_buckets, num_heads]
};

/// SwiGLU feed-forward: down_proj(silu(gate_proj(x)) * up_proj(x)), no biases (Qwen/LLaMA "mlp").
class SwiGLU : public Module {
 public:
  SwiGLU(std::int64_t hidden_size, std::int64_t intermediate_size);
  Tensor forward(const Tensor& x) const;

  std::shared_ptr<Linear> gate_proj, up_proj, down_proj;
};

/// A Qwen2-style decoder layer:
///   x = x + self_attn(input_layernorm(x));  x = x + mlp(post_attention_layernorm(x))
/// with RMSNorm, grouped-query attention with RoPE (causal), and a SwiGLU mlp.
class QwenDecoderLayer : public Module {
 public:
  QwenDecoderLayer(std::int64_t hidden_size, std::int64_t num_heads, std::int64_t num_kv_heads,
                   std::int64_t intermediate_size, double rms_norm_eps = 1e-6, double rope_theta = 10000.0);

  /// x [B, T, hidden] -> [B, T, hidden]; causal attention (plus `masks`, e.g. left padding); with `cache`,
  /// x holds the new positions only.
  Tensor forward(const Tensor& x, const AttentionMasks& masks = {}, KVCache* cache = nullptr) const;

  std::shared_ptr<RMSNorm> input_layernorm, post_attention_layernorm;
  std::shared_ptr<GroupedQueryAttention> self_attn;
  std::shared_ptr<SwiGLU> mlp;
};

}  // namespace recgrad::nn
