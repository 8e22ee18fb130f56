#include "nn/qwen2_checkpoint.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/ops/copy.h"
#include "nn/safetensors.h"

namespace recgrad::nn {
namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  RG_CHECK(in.good(), file.string(), ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

nlohmann::json parse_json(const std::string& text, const std::string& file) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& error) {
    throw Error(file + ": not valid JSON: " + error.what());
  }
}

template <typename T>
T field(const nlohmann::json& config, const char* name, const std::string& file, std::optional<T> fallback = {}) {
  const auto found = config.find(name);
  if (found == config.end() || found->is_null()) {
    RG_CHECK(fallback.has_value(), file, ": the field \"", name, "\" is missing");
    return *fallback;
  }
  try {
    return found->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(detail::concat(file, ": the field \"", name, "\" has the wrong type (", found->dump(), ")"));
  }
}

// Every tensor of the checkpoint by name: model.safetensors, or the shards of model.safetensors.index.json.
StateDict read_weights(const fs::path& folder) {
  const fs::path single = folder / "model.safetensors", index_file = folder / "model.safetensors.index.json";
  if (fs::exists(single)) return load_safetensors(single.string());
  RG_CHECK(fs::exists(index_file), folder.string(), ": no model.safetensors and no model.safetensors.index.json");
  const nlohmann::json index = parse_json(read_text(index_file), index_file.string());
  RG_CHECK(index.is_object() && index.contains("weight_map") && index["weight_map"].is_object(), index_file.string(),
           ": expected an object with a \"weight_map\" {tensor name: shard file}");
  std::map<std::string, std::set<std::string>> names_of_shard;
  for (const auto& [name, shard] : index["weight_map"].items()) {
    RG_CHECK(shard.is_string(), index_file.string(), ": the shard of \"", name, "\" is not a file name");
    const std::string shard_name = shard.get<std::string>();
    RG_CHECK(shard_name.find('/') == std::string::npos && shard_name != ".." && !shard_name.empty(),
             index_file.string(), ": shard \"", shard_name, "\" is not a file name in the folder");
    names_of_shard[shard_name].insert(name);
  }
  StateDict weights;
  for (const auto& [shard, names] : names_of_shard) {
    const StateDict tensors = load_safetensors((folder / shard).string());
    for (const auto& [name, tensor] : tensors) {
      RG_CHECK(names.contains(name), (folder / shard).string(), ": holds \"", name, "\", which ", index_file.string(),
               " places in another shard or not at all");
      weights.insert(name, tensor);
    }
    for (const std::string& name : names) {
      RG_CHECK(tensors.contains(name), index_file.string(), ": \"", name, "\" is mapped to ", shard,
               ", which does not hold it");
    }
  }
  return weights;
}

}  // namespace

Qwen2Config parse_qwen2_config(const std::string& json_text, const std::string& file) {
  const nlohmann::json c = parse_json(json_text, file);
  RG_CHECK(c.is_object(), file, ": expected a JSON object");
  if (c.contains("model_type") && c["model_type"].is_string()) {
    const std::string type = c["model_type"].get<std::string>();
    RG_CHECK(type == "qwen2", file, ": model_type is \"", type, "\"; only qwen2 (Qwen2, Qwen2.5) is supported");
  }
  Qwen2Config config;
  config.vocab_size = field<std::int64_t>(c, "vocab_size", file);
  config.hidden_size = field<std::int64_t>(c, "hidden_size", file);
  config.num_hidden_layers = field<std::int64_t>(c, "num_hidden_layers", file);
  config.num_attention_heads = field<std::int64_t>(c, "num_attention_heads", file);
  config.num_key_value_heads = field<std::int64_t>(c, "num_key_value_heads", file);
  config.intermediate_size = field<std::int64_t>(c, "intermediate_size", file);
  config.rope_theta = field<double>(c, "rope_theta", file, 10000.0);
  config.rms_norm_eps = field<double>(c, "rms_norm_eps", file, 1e-6);
  config.tie_word_embeddings = field<bool>(c, "tie_word_embeddings", file, false);
  try {
    config.validate();
  } catch (const Error& error) {
    throw Error(file + ": " + error.what());
  }
  return config;
}

std::string qwen2_config_json(const Qwen2Config& config) {
  const nlohmann::json c = {{"architectures", {"Qwen2ForCausalLM"}},
                            {"model_type", "qwen2"},
                            {"vocab_size", config.vocab_size},
                            {"hidden_size", config.hidden_size},
                            {"num_hidden_layers", config.num_hidden_layers},
                            {"num_attention_heads", config.num_attention_heads},
                            {"num_key_value_heads", config.num_key_value_heads},
                            {"intermediate_size", config.intermediate_size},
                            {"hidden_act", "silu"},
                            {"rope_theta", config.rope_theta},
                            {"rms_norm_eps", config.rms_norm_eps},
                            {"tie_word_embeddings", config.tie_word_embeddings},
                            {"torch_dtype", "float32"}};
  return c.dump(2) + "\n";
}

std::shared_ptr<Qwen2ForCausalLM> load_qwen2_checkpoint(const std::string& folder_name) {
  const fs::path folder(folder_name);
  RG_CHECK(fs::is_directory(folder), "load_qwen2_checkpoint: '", folder_name, "' is not a folder");
  const fs::path config_file = folder / "config.json";
  RG_CHECK(fs::exists(config_file), folder_name, ": no config.json");
  auto model = std::make_shared<Qwen2ForCausalLM>(parse_qwen2_config(read_text(config_file), config_file.string()));
  const StateDict weights = read_weights(folder);

  std::vector<std::string> problems;
  StateDict converted;
  std::set<std::string> expected;
  for (const auto& [name, param] : model->named_parameters()) {
    expected.insert(name);
    const Tensor* found = weights.find(name);
    if (found == nullptr) {
      problems.push_back("missing " + name + " " + detail::concat(param.shape()));
      continue;
    }
    if (found->shape() != param.shape()) {
      problems.push_back(detail::concat(name, " has shape ", found->shape(), ", the config needs ", param.shape()));
      continue;
    }
    const DType dtype = found->dtype();
    if (dtype != DType::f32 && dtype != DType::f64 && dtype != DType::bf16) {
      problems.push_back(detail::concat(name, " has dtype ", dtype, " (F32, F64 or BF16 expected)"));
      continue;
    }
    converted.insert(name, raw::to_dtype(*found, DType::f32));
  }
  for (const auto& [name, tensor] : weights) {
    if (expected.contains(name) || name.ends_with(".inv_freq")) continue;
    if (name == "lm_head.weight" && model->config.tie_word_embeddings) continue;
    problems.push_back(detail::concat("unexpected ", name, " ", tensor.shape()));
  }
  if (!problems.empty()) {
    std::ostringstream message;
    message << folder_name << ": the weights do not match the model of config.json (" << problems.size()
            << (problems.size() == 1 ? " difference" : " differences") << "):";
    for (const std::string& problem : problems) message << "\n  " << problem;
    throw Error(message.str());
  }
  model->load_state_dict(converted);
  return model;
}

void save_qwen2_checkpoint(const Qwen2ForCausalLM& model, const std::string& folder_name) {
  const fs::path folder(folder_name);
  std::error_code error;
  fs::create_directories(folder, error);
  RG_CHECK(!error && fs::is_directory(folder), "save_qwen2_checkpoint: cannot create the folder '", folder_name,
           "': ", error.message());
  StateDict tensors;
  for (const auto& [name, param] : model.named_parameters()) tensors.insert(name, raw::to_device(param, Device::cpu()));
  save_safetensors((folder / "model.safetensors").string(), tensors, {{"format", "pt"}});
  write_file_atomically((folder / "config.json").string(), qwen2_config_json(model.config), "save_qwen2_checkpoint");
}

}  // namespace recgrad::nn
