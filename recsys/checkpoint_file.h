// The file a training run is resumed from: named tensors and JSON metadata entries in one safetensors file,
// written atomically with a checksum (nn::save_safetensors) and read back only when that checksum verifies.
// The trainer (recsys/trainer.cpp) and MiniOneRec's GRPO stage (recsys/generative/grpo_stage.cpp) both keep their
// runs in it, each with its own tensor prefixes and entries; what they share is here:
//
//   "optim.<name>"     the optimizer's state tensors, and its scalars in the "optim_scalars" entry, each written as
//                      "%.17g" text (it reads back exactly, NaN and infinity included, which JSON numbers cannot)
//   "configuration"    every setting that shapes the trajectory, as a JSON object of strings: a checkpoint of
//                      another configuration is refused, naming each field that differs
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "nn/safetensors.h"
#include "optim/optimizer.h"

namespace recgrad::recsys {

/// A checkpoint's settings: field -> value as text.
using CheckpointConfiguration = std::map<std::string, std::string>;

/// A checkpoint to write: tensors (all on the CPU) and metadata entries.
struct CheckpointWriter {
  nn::StateDict tensors;
  std::map<std::string, std::string> metadata;

  /// Adds every tensor of `state` as "<prefix><name>", copied to the CPU.
  void add_tensors(const std::string& prefix, const nn::StateDict& state);
  /// Adds the optimizer's state: its tensors as "optim.<name>", its scalars as the "optim_scalars" entry.
  void add_optimizer_state(const OptimizerStateDict& state);
  /// Sets the "configuration" entry.
  void set_configuration(const CheckpointConfiguration& configuration);
  /// Sets entry `key` to `value`'s JSON text.
  void set_entry(const std::string& key, const nlohmann::json& value);
  /// Writes the file atomically (temp file + rename), with its checksum.
  void save(const std::string& path) const;
};

/// Who reads a checkpoint, for its error messages: `reader` prefixes them ("resume", "grpo"), `run` names what
/// is resumed ("run", "stage") and `writer` what writes such checkpoints ("recgrad's trainer").
struct CheckpointReader {
  std::string reader, run, writer;
};

/// A checkpoint read back and verified.
class CheckpointContents {
 public:
  /// Reads `path`, requiring a matching checksum: a corrupted file, or one that cannot be verified, is refused
  /// ("<reader>: checkpoint <path> is unusable, so the <run> is not resumed ...") and never resumed.
  CheckpointContents(const std::string& path, CheckpointReader who);

  /// The tensors whose names start with `prefix`, with the prefix removed.
  nn::StateDict tensors(const std::string& prefix) const;
  /// The optimizer state that CheckpointWriter::add_optimizer_state wrote.
  OptimizerStateDict optimizer_state() const;
  /// Whether entry `key` is present.
  bool has_entry(const std::string& key) const;
  /// Entry `key` as JSON; a missing or malformed entry is an error naming the file and the key.
  nlohmann::json entry(const std::string& key) const;
  /// Throws, naming every field that differs either way, unless the stored configuration is `configuration`.
  void check_configuration(const CheckpointConfiguration& configuration) const;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  CheckpointReader who_;
  nn::SafetensorsContents contents_;
};

/// `value` as text that reads back exactly ("%.17g").
std::string exact_number_text(double value);

}  // namespace recgrad::recsys
