#include "tools/recbench/settings.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "core/cuda/runtime.h"
#include "core/error.h"
#include "recsys/protocols.h"
#include "recsys/training_optimizer.h"

namespace recgrad::recbench {

using namespace recgrad::recsys;
namespace fs = std::filesystem;

namespace {

/// `values` as a non-empty list of distinct names; `flag` names the option in the errors.
std::vector<std::string> name_list(const std::vector<std::string>& values, const std::string& flag) {
  const std::vector<std::string> names = split_list(values);
  RG_CHECK(!names.empty(), "recbench: ", flag, " is empty; give at least one name");
  std::set<std::string> seen;
  for (const std::string& name : names) {
    RG_CHECK(!name.empty(), "recbench: ", flag, " has an empty entry (a stray comma?)");
    RG_CHECK(seen.insert(name).second, "recbench: ", flag, " names '", name, "' twice");
  }
  return names;
}

/// `values` as a non-empty list of distinct seeds.
std::vector<std::uint64_t> seed_list(const std::vector<std::string>& values, const std::string& flag) {
  const std::vector<std::string> texts = split_list(values);
  RG_CHECK(!texts.empty(), "recbench: ", flag, " is empty; give at least one seed");
  std::vector<std::uint64_t> seeds;
  for (const std::string& text : texts) {
    const std::uint64_t seed = parse_seed(text, flag);
    // a repeated seed would be counted as an independent sample in the confidence intervals
    RG_CHECK(std::find(seeds.begin(), seeds.end(), seed) == seeds.end(), "recbench: ", flag, " repeats seed ", seed);
    seeds.push_back(seed);
  }
  return seeds;
}

/// "name=value" entries (one per optimizer) -> name -> value, each name among `optimizers`.
std::map<std::string, double> learning_rates(const std::vector<std::string>& values, const std::string& flag,
                                             const std::vector<std::string>& optimizers) {
  std::map<std::string, double> out;
  for (const std::string& value : split_list(values)) {
    const auto eq = value.find('=');
    RG_CHECK(eq != std::string::npos && eq > 0, "recbench: ", flag, " expects optimizer=value, got '", value,
             "' (one value per optimizer; a grid is `recbench sweep --grid`)");
    const std::string name = value.substr(0, eq);
    RG_CHECK(
        std::find(optimizers.begin(), optimizers.end(), name) != optimizers.end(), "recbench: ", flag,
        " names optimizer '", name, "', which is not among --optimizers (",
        [&] {
          std::string list;
          for (const std::string& o : optimizers) list += (list.empty() ? "" : ", ") + o;
          return list;
        }(),
        ")");
    RG_CHECK(!out.count(name), "recbench: ", flag, " sets '", name, "' twice");
    out[name] = parse_learning_rate(value.substr(eq + 1), flag + " " + name);
  }
  return out;
}

/// Creates `folder` when missing and proves it writable with a probe file; `flag` names the option.
void prepare_folder(const std::string& folder, const std::string& flag) {
  RG_CHECK(!folder.empty(), "recbench: ", flag, " is empty");
  std::error_code error;
  if (fs::exists(folder, error)) {
    RG_CHECK(fs::is_directory(folder, error), "recbench: ", flag, " '", folder, "' exists and is not a folder");
  } else {
    fs::create_directories(folder, error);
    RG_CHECK(!error, "recbench: cannot create ", flag, " folder '", folder, "': ", error.message());
  }
  const std::string probe = folder + "/.recbench_write_probe_" + std::to_string(::getpid());
  {
    std::ofstream out(probe);
    out << "probe\n";
    out.flush();
    RG_CHECK(out.good(), "recbench: ", flag, " folder '", folder, "' is not writable");
  }
  fs::remove(probe, error);
}

}  // namespace

std::vector<std::string> split_list(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const std::string& value : values) {
    if (value.empty()) {
      out.emplace_back();
      continue;
    }
    std::size_t start = 0;
    while (true) {
      const std::size_t comma = value.find(',', start);
      out.push_back(value.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

double parse_learning_rate(const std::string& text, const std::string& flag) {
  const char* begin = text.c_str();
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(begin, &end);
  RG_CHECK(end != begin && *end == '\0' && !text.empty() && !std::isspace(static_cast<unsigned char>(text[0])),
           "recbench: ", flag, ": '", text, "' is not a number");
  RG_CHECK(errno != ERANGE || (value != 0.0 && std::isfinite(value)), "recbench: ", flag, ": '", text,
           "' is out of the range of a double");
  RG_CHECK(std::isfinite(value) && value > 0.0, "recbench: ", flag,
           ": a learning rate must be a positive finite "
           "number, got '",
           text, "'");
  return value;
}

std::uint64_t parse_seed(const std::string& text, const std::string& flag) {
  RG_CHECK(!text.empty() && text.find_first_not_of("0123456789") == std::string::npos, "recbench: ", flag, ": '", text,
           "' is not a seed (a non-negative integer)");
  errno = 0;
  const unsigned long long value = std::strtoull(text.c_str(), nullptr, 10);
  RG_CHECK(errno != ERANGE, "recbench: ", flag, ": seed '", text, "' is larger than 2^64 - 1");
  return value;
}

/// The settings of model `name`: its --model-option entries, and --max-length when given.
recsys::ModelSettings model_settings(const Settings& s, const std::string& name) {
  recsys::ModelSettings settings;
  if (s.max_length > 0) settings["max_length"] = std::to_string(s.max_length);
  for (const std::string& entry : split_list(s.model_options)) {
    const auto dot = entry.find('.'), eq = entry.find('=');
    RG_CHECK(dot != std::string::npos && eq != std::string::npos && dot < eq && dot > 0,
             "recbench: --model-option expects model.option=value, got '", entry, "'");
    (void)find_model(entry.substr(0, dot));  // an unknown model name is an error even when it is not run
    if (entry.substr(0, dot) == name) settings[entry.substr(dot + 1, eq - dot - 1)] = entry.substr(eq + 1);
  }
  return settings;
}

void add_options(CLI::App& app, Settings& s) {
  app.add_option("--dataset", s.dataset, "'synthetic' (built in) or a MiniOneRec-format folder")->capture_default_str();
  std::string models_help = "comma-separated, from the model zoo (recsys/zoo.h):";
  for (const ModelEntry& entry : model_zoo()) models_help += "\n  " + entry.name + "  " + entry.summary;
  app.add_option("--models", s.models, models_help)->capture_default_str();
  std::string model_options_help = "model.option=value (repeatable), e.g. sasrec.hidden=32; options and defaults:";
  for (const ModelEntry& entry : model_zoo()) model_options_help += "\n" + entry.name + ":\n" + entry.options_help();
  app.add_option("--model-option", s.model_options, model_options_help);
  std::string optimizers_help = "comma-separated, from recsys/training_optimizer.h:";
  for (const OptimizerEntry& entry : optimizer_zoo()) optimizers_help += "\n  " + entry.name + "  " + entry.description;
  app.add_option("--optimizers", s.optimizers, optimizers_help)->capture_default_str();
  app.add_option("--protocol", s.protocol,
                 "tuned (the default), fixed or muonrec (`recbench sweep`: fixed). "
                 "fixed: the models and optimizers as named, each optimizer at its own defaults (the hybrids' AdamW "
                 "part is the adamw baseline's), with the flags' settings; muonrec: MuonRec's setup "
                 "(experiments/traditional): each model's _muonrec variant, MuonRec's AdamW and Muon, batch 1024, "
                 "pooled BCE with 1 negative, cosine lr per epoch (T_max 500, eta_min 1e-6), selection on valid "
                 "NDCG@20, patience 10, up to 500 epochs; tuned: each optimizer's learning rates and weight decay "
                 "chosen on validation (a bracketing log grid, --tuning-seeds), then --seeds at the chosen point");
  app.add_option("--tuning-seeds", s.tuning_seeds,
                 "--protocol tuned: the seeds each grid point is averaged over (default: --budget quick: the final "
                 "seed itself; full: 1000,1001)");
  app.add_option("--budget", s.budget,
                 "quick (the default: seed 0, 4 epochs; the tuned search covers the learning rates, scored on seed 0 "
                 "itself) or full (seeds 0,1,2, 30 epochs; the tuned search covers learning rates and weight decay, "
                 "averaged over tuning seeds 1000,1001); --seeds, --tuning-seeds and --max-epochs override it")
      ->capture_default_str();
  app.add_option("--selection-k", s.trainer.selection_k,
                 "select the best weights on valid NDCG@K (1, 3, 5, 10, 20 or 50)")
      ->capture_default_str();
  app.add_option("--cosine-t-max", s.trainer.cosine_t_max, "cosine lr annealing per epoch over T_max epochs (0 = off)")
      ->capture_default_str();
  app.add_option("--cosine-eta-min", s.trainer.cosine_eta_min, "the cosine schedule's final lr")->capture_default_str();
  app.add_flag("--full", s.full, "the full comparison: --budget full");
  app.add_option("--seeds", s.seeds, "comma-separated seeds (default: the budget's, 0 or 0,1,2)");
  app.add_option("--lr", s.learning_rates, "learning rate per optimizer, e.g. adamw=1e-3 muon=0.02 (repeatable)");
  app.add_option("--adamw-part-lr", s.adamw_part_lrs, "lr of the AdamW part of a hybrid, e.g. muon=1e-2");
  app.add_option("--max-epochs", s.trainer.max_epochs, "budget: epochs (0 = none)")->capture_default_str();
  app.add_option("--max-steps", s.trainer.max_steps, "budget: optimizer steps (0 = none)")->capture_default_str();
  app.add_option("--max-minutes", s.trainer.max_minutes, "budget: training minutes per run (0 = none)")
      ->capture_default_str();
  app.add_option("--eval-every", s.trainer.eval_every, "evaluate every N steps (0 = per epoch)")->capture_default_str();
  app.add_option("--patience", s.trainer.patience, "evaluations without improvement before stopping")
      ->capture_default_str();
  app.add_option("--batch-size", s.trainer.batch_size, "training batch size")->capture_default_str();
  app.add_option("--max-length", s.max_length,
                 "history window of every model (model option max_length) and of the synthetic data; 0 = defaults")
      ->capture_default_str();
  app.add_option("--loss", s.loss,
                 "softmax (full cross-entropy), bce (sampled negatives: mean positive + mean negative term) or "
                 "bce_pooled (one mean over all positive and negative logits, MuonRec's)")
      ->capture_default_str();
  app.add_option("--negatives", s.trainer.negatives, "negatives per row for --loss bce")->capture_default_str();
  app.add_option("--sid-source", s.sid_source,
                 "semantic IDs of the generative models (tiger): release (the dataset's own, index/*.index.json, "
                 "plus TIGER's deduplication token), rqkmeans (residual k-means over TF-IDF features of the item "
                 "text) or rqvae (an RQ-VAE trained on those features); the last two are written to "
                 "<out>/sids_<source>.index.json")
      ->capture_default_str();
  app.add_option("--device", s.device, "cpu or cuda")->capture_default_str();
  app.add_option("--out", s.out, "results folder")->capture_default_str();
  app.add_option("--checkpoints", s.checkpoint_dir, "folder for per-run checkpoints (default: <out>/checkpoints)");
  app.add_flag("--resume", s.resume,
               "resume from the checkpoints: finished runs return their stored results, an interrupted run continues "
               "from its last evaluation; a checkpoint of another configuration is refused");
  app.add_option("--synthetic-users", s.synthetic_users,
                 "synthetic data: users (default: the budget's, 1500 quick or 3000 full)");
  app.add_option("--synthetic-items", s.synthetic_items, "synthetic data: items")->capture_default_str();
  app.add_option("--synthetic-zipf", s.synthetic_zipf, "synthetic data: popularity Zipf exponent")
      ->capture_default_str();
  app.add_option("--rl-prompts", s.rl_prompts,
                 "MiniOneRec's GRPO stage after SFT: next-SID prompts of the training split (plus a quarter as many "
                 "title -> SID prompts); 0 = SFT only (default: the budget's, 500 quick or 2000 full)");
  app.add_option("--rl-group", s.grpo.step.group_size, "GRPO: constrained beams per prompt (G)")->capture_default_str();
  app.add_option("--rl-beta", s.grpo.step.beta, "GRPO: the KL weight (>= 0)")->capture_default_str();
  app.add_option("--rl-reward", s.rl_reward, "GRPO: rule, ranking (MiniOneRec's) or sid_prefix")->capture_default_str();
  app.add_option("--rl-lr-scale", s.grpo.lr_scale, "GRPO: the stage's peak lr as a share of the run's own lr")
      ->capture_default_str();
  app.add_option("--rl-epochs", s.grpo.epochs, "GRPO: passes over the prompts")->capture_default_str();
  app.add_option("--rl-prompts-per-step", s.grpo.prompts_per_step, "GRPO: prompts per step")->capture_default_str();
  app.add_option("--rl-eval-every", s.grpo.eval_every, "GRPO: steps between validations (0 = before and after)")
      ->capture_default_str();
  app.add_flag("--quiet", s.quiet, "no progress output");
  app.add_flag("--audit", s.audit, "record the optimizer audit (optim/audit.h) as JSON lines and plot it");
  app.add_option("--audit-every", s.audit_every, "audit every N steps")->capture_default_str();
  app.set_config("--config", "",
                 "a TOML/INI file with the same options (key = value, keys as the long flags without '--'); an "
                 "unknown key, a [section] or a line that is not key = value is an error");
  app.allow_config_extras(CLI::config_extras_mode::error);
}

void finish_settings(Settings& s, const CLI::App& app) {
  const CLI::App* sweep = app.get_subcommands().empty() ? nullptr : app.get_subcommands().front();
  const bool sweeping = sweep != nullptr && sweep->get_name() == "sweep";
  if (s.protocol.empty()) s.protocol = sweeping ? "fixed" : "tuned";
  (void)protocol_trainer_options(s.protocol, {});  // an unknown protocol fails here, naming the known ones
  RG_CHECK(!sweeping || s.protocol != "tuned",
           "recbench sweep: --protocol tuned searches the learning rates itself; sweep runs the fixed protocol");
  RG_CHECK(s.budget == "quick" || s.budget == "full", "recbench: --budget must be quick or full, got '", s.budget, "'");
  RG_CHECK(!s.full || app.count("--budget") == 0 || s.budget == "full",
           "recbench: --full means --budget full, but --budget ", s.budget, " was given too");
  if (s.full) s.budget = "full";
  const bool full_budget = s.budget == "full";
  if (s.seeds.empty()) s.seeds = {full_budget ? Settings::kFullSeeds : Settings::kQuickSeeds};
  if (app.count("--max-epochs") == 0)
    s.trainer.max_epochs = full_budget ? Settings::kFullEpochs : Settings::kQuickEpochs;
  s.tune_weight_decay = full_budget;
  if (app.count("--synthetic-users") == 0) {
    s.synthetic_users = full_budget ? Settings::kFullSyntheticUsers : Settings::kQuickSyntheticUsers;
  }
  if (s.tuning_seeds.empty())
    s.tuning_seeds = full_budget ? std::vector<std::string>{Settings::kFullTuningSeeds} : s.seeds;
  RG_CHECK(app.count("--tuning-seeds") == 0 || s.protocol == "tuned",
           "recbench: --tuning-seeds applies to --protocol "
           "tuned only, not ",
           s.protocol);
  // The protocol's settings (recsys/protocols.h); flags given explicitly still win.
  const recsys::TrainerOptions given = s.trainer;
  s.trainer = protocol_trainer_options(s.protocol, s.trainer);
  if (s.protocol == "muonrec" && app.count("--loss") == 0) s.loss = "bce_pooled";
  const auto keep_given = [&](const char* flag, auto member) {
    if (app.count(flag) > 0) s.trainer.*member = given.*member;
  };
  keep_given("--batch-size", &recsys::TrainerOptions::batch_size);
  keep_given("--negatives", &recsys::TrainerOptions::negatives);
  keep_given("--patience", &recsys::TrainerOptions::patience);
  keep_given("--max-epochs", &recsys::TrainerOptions::max_epochs);
  keep_given("--selection-k", &recsys::TrainerOptions::selection_k);
  keep_given("--cosine-t-max", &recsys::TrainerOptions::cosine_t_max);
  keep_given("--cosine-eta-min", &recsys::TrainerOptions::cosine_eta_min);

  // names
  s.model_names = name_list(s.models, "--models");
  s.optimizer_names = name_list(s.optimizers, "--optimizers");
  for (const std::string& name : s.model_names) {
    find_model(protocol_model(s.protocol, name)).check_settings(model_settings(s, name));
  }
  for (const std::string& name : s.optimizer_names) (void)find_optimizer(protocol_optimizer(s.protocol, name));
  (void)model_settings(s, s.model_names.front());  // every --model-option names a known model

  // numbers
  s.seed_values = seed_list(s.seeds, "--seeds");
  s.tuning_seed_values = seed_list(s.tuning_seeds, "--tuning-seeds");
  s.lr_for = learning_rates(s.learning_rates, "--lr", s.optimizer_names);
  s.adamw_lr_for = learning_rates(s.adamw_part_lrs, "--adamw-part-lr", s.optimizer_names);
  for (const auto& [name, lr] : s.adamw_lr_for) {
    RG_CHECK(find_optimizer(protocol_optimizer(s.protocol, name)).defaults.adamw_lr.has_value(),
             "recbench: --adamw-part-lr names '", name, "', which has no AdamW part (only the hybrids have one)");
  }
  RG_CHECK((s.lr_for.empty() && s.adamw_lr_for.empty()) || s.protocol == "fixed",
           "recbench: --lr and --adamw-part-lr apply to --protocol fixed only; the ", s.protocol,
           " protocol sets the learning rates itself");
  RG_CHECK(s.max_length >= 0, "recbench: --max-length must be >= 0 (0 = the models' defaults), got ", s.max_length);
  RG_CHECK(s.audit_every >= 1, "recbench: --audit-every must be >= 1, got ", s.audit_every);
  RG_CHECK(s.synthetic_users >= 1 && s.synthetic_items >= 2,
           "recbench: --synthetic-users must be >= 1 and "
           "--synthetic-items >= 2, got ",
           s.synthetic_users, " and ", s.synthetic_items);
  RG_CHECK(std::isfinite(s.synthetic_zipf) && s.synthetic_zipf >= 0,
           "recbench: --synthetic-zipf must be a finite "
           "number >= 0, got ",
           s.synthetic_zipf);
  RG_CHECK(s.device == "cpu" || s.device == "cuda", "recbench: --device must be cpu or cuda, got '", s.device, "'");
  RG_CHECK(s.loss == "softmax" || s.loss == "bce" || s.loss == "bce_pooled",
           "recbench: --loss must be softmax, bce or bce_pooled, got '", s.loss, "'");
  RG_CHECK(s.sid_source == "release" || s.sid_source == "rqkmeans" || s.sid_source == "rqvae",
           "recbench: --sid-source must be release, rqkmeans or rqvae, got '", s.sid_source, "'");
  for (const std::string& name : s.model_names) {
    const bool generative = find_model(protocol_model(s.protocol, name)).generative;
    RG_CHECK(!generative || s.loss == "softmax", "recbench: model ", name,
             " trains on the token cross-entropy of "
             "semantic IDs; --loss ",
             s.loss, " does not apply to it (use --loss softmax)");
    RG_CHECK(!generative || s.dataset != "synthetic", "recbench: model ", name,
             " needs semantic IDs or item text, "
             "which the built-in synthetic data does not have; use --dataset with a MiniOneRec-format folder");
  }
  // the GRPO stage: its numbers now; the group against the catalogue once the data is loaded
  if (app.count("--rl-prompts") == 0) s.rl_prompts = full_budget ? Settings::kFullRlPrompts : Settings::kQuickRlPrompts;
  RG_CHECK(s.rl_prompts >= 0, "recbench: --rl-prompts must be >= 0 (0 = SFT only), got ", s.rl_prompts);
  s.grpo.sid_history_prompts = std::max<std::int64_t>(1, s.rl_prompts);
  s.grpo.title_prompts = s.rl_prompts / 4;
  try {
    s.grpo.step.reward = recsys::group_reward_from_name(s.rl_reward);
  } catch (const Error& error) {
    throw Error(std::string("recbench: --rl-reward: ") + error.what());
  }
  try {
    recsys::check_grpo_stage_options(s.grpo, std::numeric_limits<std::int64_t>::max());
  } catch (const Error& error) {
    throw Error(std::string("recbench: --rl-*: ") + error.what());
  }
  s.trainer.device = s.device == "cuda" ? Device::cuda() : Device::cpu();
  s.trainer.loss = s.loss == "softmax" ? LossKind::full_softmax
                   : s.loss == "bce"   ? LossKind::sampled_bce
                                       : LossKind::sampled_bce_pooled;
  s.trainer.audit.enabled = s.audit;
  s.trainer.audit.every = s.audit_every;
  try {
    check_trainer_options(s.trainer);
  } catch (const Error& error) {  // name the flags: "trainer option negatives" is --negatives
    std::string message = error.what();
    for (const auto& [field, flag] :
         std::vector<std::pair<std::string, std::string>>{{"batch_size", "--batch-size"},
                                                          {"patience", "--patience"},
                                                          {"negatives", "--negatives"},
                                                          {"max_epochs", "--max-epochs"},
                                                          {"max_steps", "--max-steps"},
                                                          {"max_minutes", "--max-minutes"},
                                                          {"eval_every", "--eval-every"},
                                                          {"selection_k", "--selection-k"},
                                                          {"cosine_t_max", "--cosine-t-max"},
                                                          {"cosine_eta_min", "--cosine-eta-min"},
                                                          {"audit.every", "--audit-every"}}) {
      const std::string from = "trainer option " + field + " ";
      if (message.find(from) != std::string::npos) {
        message.replace(message.find(from), from.size(), flag + " ");
        break;
      }
    }
    throw Error("recbench: " + message);
  }
  if (s.trainer.device.is_cuda()) cuda::require_cuda_device(s.trainer.device, "recbench --device cuda");

  // paths: the dataset folder exists; --out and the checkpoints are writable folders
  if (s.dataset != "synthetic") {
    RG_CHECK(fs::is_directory(s.dataset), "recbench: --dataset '", s.dataset, "' is neither 'synthetic' nor a folder");
  }
  prepare_folder(s.out, "--out");
  s.checkpoint_folder = s.checkpoint_dir.empty() ? s.out + "/checkpoints" : s.checkpoint_dir;
  prepare_folder(s.checkpoint_folder, s.checkpoint_dir.empty() ? "--out's checkpoints" : "--checkpoints");
}

bool Settings::runs_rl(const std::string& name) const {
  return rl_prompts > 0 && protocol_model(protocol, name).rfind("minionerec", 0) == 0;
}

}  // namespace recgrad::recbench
