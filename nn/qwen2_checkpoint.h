// Hugging Face Qwen2 / Qwen2.5 checkpoints: a folder with config.json and the weights in model.safetensors, or
// sharded (model.safetensors.index.json, whose "weight_map" names each tensor's shard file).
//
// Loading honours the config (hidden_size, num_hidden_layers, num_attention_heads, num_key_value_heads,
// intermediate_size, rope_theta, rms_norm_eps, tie_word_embeddings, vocab_size) and requires the weights to match
// the model exactly: every tensor present, none extra, each of its shape; F32, F64 and BF16 weights are read and
// converted to f32. Two things a Hugging Face checkpoint may carry are skipped, as Hugging Face skips them: the
// rotary "inv_freq" buffers (recomputed from rope_theta) and lm_head.weight when the embeddings are tied (the
// head is the embeddings). Anything else that differs is an error listing every difference.
// Saving writes config.json and model.safetensors in the same layout (atomically), readable back by both.
#pragma once

#include <memory>
#include <string>

#include "nn/qwen2.h"

namespace recgrad::nn {

/// Parses the text of a Hugging Face Qwen2 config.json (`file` names it in errors). The fields above are required
/// except rope_theta (default 10000), rms_norm_eps (1e-6) and tie_word_embeddings (false, Hugging Face's default).
Qwen2Config parse_qwen2_config(const std::string& json_text, const std::string& file);
/// The config.json text of `config` (model_type qwen2, architectures Qwen2ForCausalLM, torch_dtype float32).
std::string qwen2_config_json(const Qwen2Config& config);

/// The model of the checkpoint folder `folder` (see the top of the file), on the CPU in f32.
std::shared_ptr<Qwen2ForCausalLM> load_qwen2_checkpoint(const std::string& folder);

/// Writes `model` (any device) as `folder`/config.json and `folder`/model.safetensors, creating the folder.
void save_qwen2_checkpoint(const Qwen2ForCausalLM& model, const std::string& folder);

}  // namespace recgrad::nn
