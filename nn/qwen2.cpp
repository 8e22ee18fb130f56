#include "nn/qwen2.h"

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "core/factory.h"
#include "core/ops/copy.h"
#include "nn/init.h"

namespace recgrad::nn {

void Qwen2Config::validate() const {
  RG_CHECK(vocab_size >= 1, "Qwen2Config: vocab_size must be >= 1, got ", vocab_size);
  RG_CHECK(hidden_size >= 1 && num_hidden_layers >= 1 && intermediate_size >= 1,
           "Qwen2Config: hidden_size, num_hidden_layers and intermediate_size must be >= 1, got ", hidden_size, ", ",
           num_hidden_layers, " and ", intermediate_size);
  RG_CHECK(num_attention_heads >= 1 && hidden_size % num_attention_heads == 0, "Qwen2Config: num_attention_heads (",
           num_attention_heads, ") must divide hidden_size (", hidden_size, ")");
  RG_CHECK(num_key_value_heads >= 1 && num_attention_heads % num_key_value_heads == 0,
           "Qwen2Config: num_key_value_heads (", num_key_value_heads, ") must divide num_attention_heads (",
           num_attention_heads, ")");
  RG_CHECK(head_dim() % 2 == 0, "Qwen2Config: RoPE needs an even head dimension, got ", head_dim());
  RG_CHECK(rope_theta > 0 && rms_norm_eps > 0, "Qwen2Config: rope_theta and rms_norm_eps must be > 0, got ", rope_theta,
           " and ", rms_norm_eps);
}

Qwen2Backbone::Qwen2Backbone(const Qwen2Config& c) {
  embed_tokens = register_module("embed_tokens", std::make_shared<Embedding>(c.vocab_size, c.hidden_size));
  layers = register_module("layers", std::make_shared<ModuleList>());
  for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) {
    layers->push_back(std::make_shared<QwenDecoderLayer>(c.hidden_size, c.num_attention_heads, c.num_key_value_heads,
                                                         c.intermediate_size, c.rms_norm_eps, c.rope_theta));
  }
  norm = register_module("norm", std::make_shared<RMSNorm>(Shape{c.hidden_size}, c.rms_norm_eps));
}

Qwen2ForCausalLM::Qwen2ForCausalLM(const Qwen2Config& c) : config(c) {
  c.validate();
  model = register_module("model", std::make_shared<Qwen2Backbone>(c));
  if (!c.tie_word_embeddings) {
    lm_head = register_module("lm_head", std::make_shared<Linear>(c.hidden_size, c.vocab_size, /*bias=*/false));
  }
  NoGradGuard no_grad;
  for (auto& [name, param] : named_parameters()) {
    if (name.ends_with(".bias")) {
      raw::fill_(param, 0.0);
    } else if (name.ends_with("norm.weight")) {
      raw::fill_(param, 1.0);
    } else {
      init::normal_(param, 0.0, 0.02);
    }
  }
}

Tensor Qwen2ForCausalLM::hidden_states(const Tensor& tokens, const AttentionMasks& masks,
                                       std::vector<KVCache>* caches) const {
  RG_CHECK(tokens.defined() && tokens.dim() == 2 && tokens.dtype() == DType::i64,
           "Qwen2ForCausalLM: expected tokens [B, T] i64, got ", tokens.defined() ? tokens.shape() : Shape{});
  RG_CHECK(caches == nullptr || caches->size() == model->layers->size(),
           "Qwen2ForCausalLM: ", caches == nullptr ? 0 : caches->size(), " KV caches for ", model->layers->size(),
           " layers");
  Tensor h = model->embed_tokens->forward(tokens);
  for (std::size_t i = 0; i < model->layers->size(); ++i) {
    h = model->layers->at<QwenDecoderLayer>(i)->forward(h, masks, caches == nullptr ? nullptr : &(*caches)[i]);
  }
  return model->norm->forward(h);
}

const Tensor& Qwen2ForCausalLM::output_weight() const {
  return lm_head ? lm_head->weight : model->embed_tokens->weight;
}

Tensor Qwen2ForCausalLM::logits(const Tensor& hidden) const { return matmul(hidden, transpose(output_weight(), 0, 1)); }

Tensor Qwen2ForCausalLM::forward(const Tensor& tokens, const AttentionMasks& masks,
                                 std::vector<KVCache>* caches) const {
  return logits(hidden_states(tokens, masks, caches));
}

namespace {

// [new_rows, d]: the first `kept_rows` rows of `table`, then copies of their mean.
Tensor grown_by_mean_rows(const Tensor& table, std::int64_t new_rows, std::int64_t kept_rows) {
  const Tensor kept = narrow(table, 0, 0, kept_rows);
  const Tensor row_mean = mean(kept, {0}, /*keepdim=*/true);  // [1, d]
  const Tensor extra = raw::contiguous(expand(row_mean, {new_rows - kept_rows, table.size(1)}));
  return raw::contiguous(cat({kept, extra}, 0));
}

}  // namespace

void Qwen2ForCausalLM::resize_vocabulary(std::int64_t new_size, std::optional<std::int64_t> kept_rows) {
  const std::int64_t kept = kept_rows.value_or(config.vocab_size);
  RG_CHECK(new_size >= config.vocab_size, "Qwen2ForCausalLM.resize_vocabulary: cannot shrink the vocabulary from ",
           config.vocab_size, " to ", new_size, " tokens");
  RG_CHECK(kept >= 1 && kept <= config.vocab_size, "Qwen2ForCausalLM.resize_vocabulary: kept_rows ", kept,
           " must be in [1, ", config.vocab_size, "]");
  if (new_size == kept) return;
  NoGradGuard no_grad;
  // The tables change shape, so the modules get new parameters.
  Embedding& embedding = *model->embed_tokens;
  embedding.weight = embedding.replace_parameter("weight", grown_by_mean_rows(embedding.weight, new_size, kept));
  embedding.num_embeddings = new_size;
  if (lm_head) {
    lm_head->weight = lm_head->replace_parameter("weight", grown_by_mean_rows(lm_head->weight, new_size, kept));
    lm_head->out_features = new_size;
  }
  config.vocab_size = new_size;
}

}  // namespace recgrad::nn
