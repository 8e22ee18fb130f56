// A Qwen2-style decoder-only language model (Qwen2 / Qwen2.5, as Hugging Face's modeling_qwen2 computes it), the
// backbone of MiniOneRec:
//
//   h = embed_tokens[tokens]
//   h = layer_i(h) for each QwenDecoderLayer (RMSNorm pre-norm, grouped-query attention with RoPE, q/k/v with
//       bias and o without, SwiGLU feed-forward; causal, plus the batch's left padding)
//   logits = norm(h) W^T, W = lm_head.weight, or embed_tokens.weight when the embeddings are tied
//
// Parameter names are Hugging Face's (model.embed_tokens.weight, model.layers.N.self_attn.q_proj.weight, ...,
// model.norm.weight, lm_head.weight), so a Qwen2 checkpoint loads by name (nn/qwen2_checkpoint.h).
// RoPE positions count from the first column of the batch; with left padding a row's real tokens start later, and
// since RoPE makes scores depend only on the distance between positions, the row's outputs equal those of the row
// run alone.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "nn/attention.h"
#include "nn/embedding.h"
#include "nn/linear.h"
#include "nn/module.h"
#include "nn/module_list.h"
#include "nn/rms_norm.h"
#include "nn/transformer.h"

namespace recgrad::nn {

/// The sizes of a Qwen2 model, under the names of Hugging Face's config.json.
struct Qwen2Config {
  std::int64_t vocab_size = 0;
  std::int64_t hidden_size = 128;
  std::int64_t num_hidden_layers = 4;
  std::int64_t num_attention_heads = 4;
  std::int64_t num_key_value_heads = 4;
  std::int64_t intermediate_size = 352;
  double rope_theta = 10000.0;
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = true;

  /// hidden_size / num_attention_heads.
  std::int64_t head_dim() const { return hidden_size / num_attention_heads; }
  /// Throws naming the first field out of range (every size >= 1, heads dividing hidden_size and key/value heads
  /// dividing heads, an even head_dim for RoPE, theta and eps > 0).
  void validate() const;
};

/// embed_tokens, the decoder layers and the final norm: Hugging Face's Qwen2Model ("model." in a checkpoint).
class Qwen2Backbone : public Module {
 public:
  explicit Qwen2Backbone(const Qwen2Config& config);

  std::shared_ptr<Embedding> embed_tokens;
  std::shared_ptr<ModuleList> layers;  // QwenDecoderLayer
  std::shared_ptr<RMSNorm> norm;
};

/// Qwen2ForCausalLM: the backbone and the LM head (none when the embeddings are tied).
class Qwen2ForCausalLM : public Module {
 public:
  /// Weights initialised as Hugging Face does (normal, std 0.02; norms 1; biases 0).
  explicit Qwen2ForCausalLM(const Qwen2Config& config);

  /// The final hidden states norm(h) [B, T, hidden] of tokens [B, T] i64. masks.key_padding_mask [B, Tk] marks
  /// padding (Tk = the cached positions plus T); attention is always causal. With `caches` (one per layer), the
  /// tokens are the new positions only and the caches grow by T.
  Tensor hidden_states(const Tensor& tokens, const AttentionMasks& masks = {},
                       std::vector<KVCache>* caches = nullptr) const;
  /// Logits [..., vocab] of hidden states: hidden W^T.
  Tensor logits(const Tensor& hidden) const;
  /// logits(hidden_states(tokens, masks, caches)): [B, T, vocab].
  Tensor forward(const Tensor& tokens, const AttentionMasks& masks = {}, std::vector<KVCache>* caches = nullptr) const;
  /// The output projection W [vocab, hidden] (lm_head.weight, or the embeddings when tied).
  const Tensor& output_weight() const;

  /// Grows the vocabulary to `new_size` tokens: rows [0, kept_rows) of the embeddings (and of an untied LM head)
  /// are unchanged and every row from kept_rows on starts at their mean, as Hugging Face's
  /// resize_token_embeddings(mean_resizing=True) starts new rows. kept_rows defaults to the current size; a
  /// smaller one also restarts rows the table had beyond it (a checkpoint's padding rows taken over by new tokens).
  /// Must not shrink.
  void resize_vocabulary(std::int64_t new_size, std::optional<std::int64_t> kept_rows = std::nullopt);

  Qwen2Config config;
  std::shared_ptr<Qwen2Backbone> model;
  std::shared_ptr<Linear> lm_head;  // null when tie_word_embeddings
};

}  // namespace recgrad::nn
