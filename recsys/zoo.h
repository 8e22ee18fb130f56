// The model zoo: the one list of the recommenders recgrad trains. Each entry has the model's name, a one-line
// summary, its options (defaults, parsing, help) and a factory; recbench, its help text, the tests and the
// README all list models from here.
//
// Adding a model: write recsys/sequential/<model>.{h,cpp} (a SequentialRecommender with an options struct, a
// static option_fields() table, a static create(sizes, options) and the kZooName/kSummary constants; see
// sasrec.h), then add one line `zoo_entry<YourModel>()` to the list in recsys/zoo.cpp.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "recsys/generative/semantic_ids.h"
#include "recsys/model.h"
#include "recsys/model_options.h"

namespace recgrad::recsys {

/// What a model needs to know about the data to build its tables.
struct DatasetSizes {
  std::int64_t num_items = 0;  // item ids 1..num_items (recsys/item_ids.h)
  std::int64_t num_users = 0;  // user ids 0..num_users-1
  /// Every item's semantic ID, distinct (the generative models need them; null when the data has none).
  std::shared_ptr<const SemanticIds> semantic_ids;
  /// Every item's title, titles[i] for item i (MiniOneRec's prompts read them; null when the data has none).
  std::shared_ptr<const std::vector<std::string>> item_titles;
};

/// One model of the zoo.
struct ModelEntry {
  std::string name;         // as recbench spells it: "sasrec"
  std::string summary;      // one line for help texts
  bool generative = false;  // names items by semantic IDs (DatasetSizes::semantic_ids), trains on tokens
  /// Every option with its default: "  name (default): help" lines.
  std::function<std::string()> options_help;
  /// Throws, naming the model and the option, when `settings` has an unknown option or a bad value.
  std::function<void(const ModelSettings& settings)> check_settings;
  /// A freshly initialised model (from the global seed) with `settings` applied over the defaults.
  std::function<std::shared_ptr<SequentialRecommender>(const DatasetSizes&, const ModelSettings&)> make;
};

/// Every model, in the order recbench runs them by default.
const std::vector<ModelEntry>& model_zoo();
/// The entry called `name`; throws listing the known names.
const ModelEntry& find_model(std::string_view name);
/// "sasrec, gru4rec, caser".
std::string model_names();

/// The entry of a model class that provides Options, option_fields(), create(sizes, options), kZooName and
/// kSummary (see the top of this file).
template <typename Model>
ModelEntry zoo_entry() {
  using Options = typename Model::Options;
  ModelEntry entry;
  entry.name = Model::kZooName;
  entry.summary = Model::kSummary;
  if constexpr (requires { Model::kGenerative; }) entry.generative = Model::kGenerative;
  entry.options_help = [] { return options_help(Options{}, Model::option_fields()); };
  entry.check_settings = [](const ModelSettings& settings) {
    (void)apply_settings(Model::kZooName, Options{}, Model::option_fields(), settings);
  };
  entry.make = [](const DatasetSizes& sizes, const ModelSettings& settings) -> std::shared_ptr<SequentialRecommender> {
    return Model::create(sizes, apply_settings(Model::kZooName, Options{}, Model::option_fields(), settings));
  };
  return entry;
}

}  // namespace recgrad::recsys
