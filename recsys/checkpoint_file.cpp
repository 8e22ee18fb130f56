#include "recsys/checkpoint_file.h"

#include <cstdio>
#include <cstdlib>

#include "core/error.h"
#include "core/ops/copy.h"

namespace recgrad::recsys {

using nlohmann::json;

std::string exact_number_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

void CheckpointWriter::add_tensors(const std::string& prefix, const nn::StateDict& state) {
  for (const auto& [name, tensor] : state) tensors.insert(prefix + name, raw::to_device(tensor, Device::cpu()));
}

void CheckpointWriter::add_optimizer_state(const OptimizerStateDict& state) {
  for (const auto& [name, tensor] : state.tensors)
    tensors.insert("optim." + name, raw::to_device(tensor, Device::cpu()));
  json scalars = json::object();  // as text: JSON has no NaN or infinity, and some options are NaN ("unset")
  for (const auto& [name, value] : state.scalars) scalars[name] = exact_number_text(value);
  metadata["optim_scalars"] = scalars.dump();
}

void CheckpointWriter::set_configuration(const CheckpointConfiguration& configuration) {
  metadata["configuration"] = json(configuration).dump();
}

void CheckpointWriter::set_entry(const std::string& key, const json& value) { metadata[key] = value.dump(); }

void CheckpointWriter::save(const std::string& path) const { nn::save_safetensors(path, tensors, metadata); }

CheckpointContents::CheckpointContents(const std::string& path, CheckpointReader who)
    : path_(path), who_(std::move(who)) {
  try {
    contents_ = nn::read_safetensors(path, nn::ChecksumPolicy::require);
  } catch (const Error& error) {
    throw Error(detail::concat(who_.reader, ": checkpoint ", path, " is unusable, so the ", who_.run,
                               " is not resumed (move it away or delete it to start afresh): ", error.what()));
  }
}

nn::StateDict CheckpointContents::tensors(const std::string& prefix) const {
  nn::StateDict found;
  for (const auto& [name, tensor] : contents_.tensors) {
    if (name.rfind(prefix, 0) == 0) found.insert(name.substr(prefix.size()), tensor);
  }
  return found;
}

OptimizerStateDict CheckpointContents::optimizer_state() const {
  OptimizerStateDict state;
  for (const auto& [name, tensor] : tensors("optim.")) state.tensors[name] = tensor;
  const json scalars = entry("optim_scalars");  // a local: items() refers into it
  try {
    for (const auto& [name, value] : scalars.items()) {
      state.scalars[name] = std::strtod(value.get<std::string>().c_str(), nullptr);  // reads "nan" and "inf" too
    }
  } catch (const json::exception& error) {
    throw Error(detail::concat(who_.reader, ": checkpoint ", path_, ": its optimizer scalars are mistyped (",
                               error.what(), "); move it away or delete it"));
  }
  return state;
}

bool CheckpointContents::has_entry(const std::string& key) const { return contents_.metadata.count(key) != 0; }

json CheckpointContents::entry(const std::string& key) const {
  // A checkpoint that passed its checksum but was not written by recgrad (made by hand, or by another tool) may
  // lack an entry or hold malformed JSON: say which, instead of a bare json exception.
  const auto found = contents_.metadata.find(key);
  RG_CHECK(found != contents_.metadata.end(), who_.reader, ": checkpoint ", path_, " has no '", key,
           "' metadata entry, so it was not written by ", who_.writer, "; move it away or delete it");
  try {
    return json::parse(found->second);
  } catch (const json::exception& error) {
    throw Error(detail::concat(who_.reader, ": checkpoint ", path_, ": its '", key, "' metadata is not valid JSON (",
                               error.what(), ")"));
  }
}

void CheckpointContents::check_configuration(const CheckpointConfiguration& configuration) const {
  CheckpointConfiguration stored;
  if (has_entry("configuration")) {
    try {
      stored = entry("configuration").get<CheckpointConfiguration>();
    } catch (const json::exception& error) {
      throw Error(detail::concat(who_.reader, ": checkpoint ", path_,
                                 ": its 'configuration' metadata is not a JSON object of strings (", error.what(),
                                 ")"));
    }
  }
  std::string differences;
  for (const auto& [field, value] : configuration) {
    const auto found = stored.find(field);
    const std::string there = found == stored.end() ? "(absent)" : found->second;
    if (there != value) differences += "\n  " + field + ": '" + there + "' in the checkpoint, '" + value + "' now";
  }
  for (const auto& [field, value] : stored) {
    if (!configuration.count(field)) differences += "\n  " + field + ": '" + value + "' in the checkpoint, absent now";
  }
  RG_CHECK(differences.empty(), who_.reader, ": checkpoint ", path_, " was written by another ", who_.run,
           " (another configuration); delete it or change the path. Differences:", differences);
}

}  // namespace recgrad::recsys
