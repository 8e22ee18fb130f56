// recbench's command line: the options (add_options), and the one check of the whole invocation
// (finish_settings) that runs before any data is loaded or any step is trained. Every name, number and path is
// checked there, so a typo in the fifth model or an unwritable --out fails at once instead of after four
// finished runs; each error names the flag and the offending value.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "recsys/generative/grpo_stage.h"
#include "recsys/trainer.h"
#include "recsys/zoo.h"

namespace recgrad::recbench {

/// Everything the command line sets. The list options keep their text (for the record in results.json); the
/// checked, typed values are filled by finish_settings.
struct Settings {
  std::string dataset = "synthetic";
  std::vector<std::string> models{"sasrec,gru4rec,caser"};
  std::vector<std::string> optimizers{"adamw,muon"};
  std::vector<std::string> seeds;           // empty: the budget's
  std::vector<std::string> learning_rates;  // name=value
  std::vector<std::string> adamw_part_lrs;  // name=value: the AdamW part of a hybrid
  std::vector<std::string> model_options;   // model.option=value
  std::int64_t max_length = 0;              // > 0: every model's history window (and the synthetic data's)
  std::string out = "results";
  std::string device = "cpu";
  std::string loss = "softmax";
  std::string sid_source = "release";  // the generative models' semantic IDs: release, rqkmeans or rqvae
  std::string checkpoint_dir;          // "" = <out>/checkpoints
  bool resume = false;
  recsys::TrainerOptions trainer;
  std::int32_t synthetic_users = 0, synthetic_items = 1000;  // users 0: the budget's (1500 quick, 3000 full)
  double synthetic_zipf = 1.0;
  bool quiet = false;
  bool audit = false;
  std::int64_t audit_every = 50;
  std::string budget = "quick";           // quick or full (see kQuick... and kFull...)
  bool full = false;                      // --full: --budget full
  std::string protocol;                   // empty: tuned (fixed for `recbench sweep`)
  std::vector<std::string> tuning_seeds;  // empty: the budget's
  bool tune_weight_decay = true;          // the tuned protocol's search covers weight decay (budget full)
  // MiniOneRec's GRPO stage after its SFT (recsys/generative/grpo_stage.h): --rl-prompts next-SID prompts (0: SFT
  // only; default the budget's) and a quarter as many title -> SID prompts; group, beta, reward, lr scale, epochs.
  std::int64_t rl_prompts = -1;
  std::string rl_reward = "ranking";
  recsys::GrpoStageOptions grpo;

  // Filled by finish_settings from the options above.
  std::vector<std::string> model_names, optimizer_names;
  std::vector<std::uint64_t> seed_values, tuning_seed_values;
  std::map<std::string, double> lr_for, adamw_lr_for;  // --lr, --adamw-part-lr by optimizer name
  std::string checkpoint_folder;                       // --checkpoints, or <out>/checkpoints
  // Filled by recbench after loading the data, when a generative model runs (--sid-source).
  std::shared_ptr<const recsys::SemanticIds> semantic_ids;
  std::shared_ptr<const std::vector<std::string>> item_titles;  // items' titles, for MiniOneRec's prompts

  Settings() { trainer.patience = 5; }

  // The two budgets. quick (the default, a first look in a few minutes on 2 cores): 1 seed, 4 epochs; under the
  // tuned protocol the search covers the learning rates only (weight decay stays at each optimizer's default)
  // and scores each point on the final seed itself, so the chosen point's tuning run is its final run.
  // full (the comparison): seeds 0,1,2, 30 epochs; the tuned search covers learning rates and weight decay and
  // averages each point over tuning seeds 1000 and 1001, which are not final seeds.
  // The built-in synthetic data has 1500 users under the quick budget and 3000 under the full one.
  static constexpr std::int64_t kQuickEpochs = 4, kFullEpochs = 30;
  static constexpr std::int32_t kQuickSyntheticUsers = 1500, kFullSyntheticUsers = 3000;
  static constexpr const char* kQuickSeeds = "0";
  static constexpr const char* kFullSeeds = "0,1,2";
  static constexpr const char* kFullTuningSeeds = "1000,1001";
  static constexpr std::int64_t kQuickRlPrompts = 500, kFullRlPrompts = 2000;

  /// Whether model `name` gets the GRPO stage after its training (MiniOneRec, with --rl-prompts > 0).
  bool runs_rl(const std::string& name) const;
};

/// Comma-separated fields of every value ("a,b" "c" -> a, b, c); empty fields are kept (and refused by the
/// checks), so "--seeds 0,,1" is an error, not two seeds.
std::vector<std::string> split_list(const std::vector<std::string>& values);

/// The settings of model `name`: its --model-option entries, and --max-length when given.
recsys::ModelSettings model_settings(const Settings& s, const std::string& name);

/// Declares every option of recbench (run and sweep) on `app`, bound to `s`.
void add_options(CLI::App& app, Settings& s);

/// Checks the whole invocation and fills the typed fields of `s`: the protocol's settings, every model,
/// optimizer and model option, the seeds (non-negative integers, no duplicates), the learning rates (positive
/// finite numbers, each for an optimizer that runs), every number's range (recsys::check_trainer_options), the
/// device, and the output folders (created and proven writable). Throws recgrad::Error naming the flag and the
/// value; nothing has been trained or overwritten when it throws.
void finish_settings(Settings& s, const CLI::App& app);

/// The strict number parsers behind finish_settings, for the sweep's --grid as well: the whole text must be
/// the number. A learning rate is a positive finite double ("1e400" is out of range, "1e-3x" is not a number).
double parse_learning_rate(const std::string& text, const std::string& flag);
/// A seed: a non-negative integer below 2^64 ("-1" and "abc" are errors).
std::uint64_t parse_seed(const std::string& text, const std::string& flag);

}  // namespace recgrad::recbench
