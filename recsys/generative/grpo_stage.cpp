#include "recsys/generative/grpo_stage.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "core/error.h"
#include "core/host_random.h"
#include "nn/state_dict.h"
#include "recsys/checkpoint_file.h"
#include "recsys/metrics_json.h"

namespace recgrad::recsys {
namespace {

using nlohmann::json;

constexpr double kPi = 3.14159265358979323846;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The stage's prompts: next-SID prompts of up to `rows` training rows with a history, then title -> SID prompts of
// the targets of the first `titles` of them; drawn by `random`.
std::vector<PromptExample> stage_prompts(const MiniOneRec& model, const datasets::Split& train,
                                         const GrpoStageOptions& options, HostRandom& random) {
  std::vector<std::size_t> rows;
  for (std::size_t r = 0; r < train.size(); ++r) {
    if (!train.history(r).empty()) rows.push_back(r);
  }
  random.shuffle(rows);
  rows.resize(std::min(rows.size(), static_cast<std::size_t>(options.sid_history_prompts)));
  std::vector<PromptExample> prompts;
  for (const std::size_t r : rows) {
    const auto history = train.history(r);
    prompts.push_back(model.prompts.next_item(
        PromptTask::sid_history, std::vector<datasets::ItemId>(history.begin(), history.end()), train.targets[r]));
  }
  for (std::size_t i = 0; i < rows.size() && static_cast<std::int64_t>(i) < options.title_prompts; ++i) {
    prompts.push_back(model.prompts.alignment(PromptTask::title_to_sid, train.targets[rows[i]]));
  }
  return prompts;
}

// warmup then cosine: the lr factor of step `step` (0-based) of `total`
double schedule(std::int64_t step, std::int64_t total, double warmup_share) {
  const auto warmup = static_cast<std::int64_t>(std::ceil(warmup_share * static_cast<double>(total)));
  if (step < warmup) return static_cast<double>(step + 1) / static_cast<double>(warmup);
  const double progress =
      static_cast<double>(step - warmup) / static_cast<double>(std::max<std::int64_t>(1, total - warmup));
  return 0.5 * (1.0 + std::cos(kPi * progress));
}

// ---- checkpoints ----

json step_to_json(const GrpoStepLog& log) {
  return {{"loss", log.loss},
          {"mean_reward", log.mean_reward},
          {"hit_share", log.hit_share},
          {"mean_kl", log.mean_kl},
          {"entropy", log.entropy}};
}

GrpoStepLog step_from_json(const json& j) {
  return {j.at("loss"), j.at("mean_reward"), j.at("hit_share"), j.at("mean_kl"), j.at("entropy")};
}

// The stage so far, as the checkpoint's "stage" metadata.
json stage_to_json(const GrpoStageResult& result, std::int64_t step) {
  json steps = json::array(), curve = json::array();
  for (const GrpoStepLog& log : result.steps) steps.push_back(step_to_json(log));
  for (const EvalPoint& p : result.curve) {
    curve.push_back(
        {{"step", p.step}, {"seconds", p.seconds}, {"valid", metrics_to_json(p.valid)}, {"valid_loss", p.valid_loss}});
  }
  return {{"step", step},
          {"train_seconds", result.train_seconds},
          {"total_seconds", result.total_seconds},
          {"sft_test", metrics_to_json(result.sft_test)},
          {"steps", steps},
          {"curve", curve}};
}

std::int64_t stage_from_json(const json& j, GrpoStageResult& result) {
  result.train_seconds = j.at("train_seconds");
  result.total_seconds = j.at("total_seconds");
  result.sft_test = metrics_from_json(j.at("sft_test"));
  for (const json& log : j.at("steps")) result.steps.push_back(step_from_json(log));
  for (const json& p : j.at("curve")) {
    EvalPoint point;
    point.step = p.at("step");
    point.seconds = p.at("seconds");
    point.valid = metrics_from_json(p.at("valid"));
    point.valid_loss = p.at("valid_loss");
    result.curve.push_back(point);
  }
  return j.at("step");
}

// What a checkpoint must agree on to be continued: everything that shapes the trajectory.
CheckpointConfiguration stage_configuration(const MiniOneRec& policy, const TrainingOptimizer& optimizer,
                                            const GrpoStageOptions& o) {
  const auto text = exact_number_text;
  return {{"model", policy.describe()},
          {"optimizer", optimizer.describe()},
          {"group_size", std::to_string(o.step.group_size)},
          {"beta", text(o.step.beta)},
          {"reward", to_string(o.step.reward)},
          {"clip_grad_norm", text(o.step.clip_grad_norm)},
          {"sid_history_prompts", std::to_string(o.sid_history_prompts)},
          {"title_prompts", std::to_string(o.title_prompts)},
          {"prompts_per_step", std::to_string(o.prompts_per_step)},
          {"epochs", std::to_string(o.epochs)},
          {"lr_scale", text(o.lr_scale)},
          {"warmup_share", text(o.warmup_share)},
          {"eval_every", std::to_string(o.eval_every)},
          {"seed", std::to_string(o.seed)}};
}

void save_stage_checkpoint(const std::string& path, const MiniOneRec& policy, const MiniOneRec& reference,
                           const TrainingOptimizer& optimizer, const GrpoStageResult& result, std::int64_t step,
                           const CheckpointConfiguration& configuration, bool finished) {
  CheckpointWriter checkpoint;
  checkpoint.add_tensors("policy.", policy.state_dict());
  checkpoint.add_tensors("reference.", reference.state_dict());
  checkpoint.add_optimizer_state(optimizer.state_dict());
  checkpoint.set_entry("stage", stage_to_json(result, step));
  checkpoint.set_configuration(configuration);
  if (finished) checkpoint.set_entry("final", json{{"test", metrics_to_json(result.test)}});
  checkpoint.save(path);
}

// Throws unless `stored` (a checkpoint's reference) has exactly the names, shapes and dtypes of `policy`'s
// state, listing every difference.
void check_reference_matches(const std::string& path, const nn::StateDict& stored, const nn::StateDict& policy) {
  std::string differences;
  for (const auto& [name, tensor] : policy) {
    const Tensor* there = stored.find(name);
    if (there == nullptr) {
      differences += "\n  " + name + ": missing from the reference";
    } else if (there->shape() != tensor.shape() || there->dtype() != tensor.dtype()) {
      std::ostringstream line;
      line << "\n  " << name << ": " << there->shape() << " " << dtype_name(there->dtype()) << " in the reference, "
           << tensor.shape() << " " << dtype_name(tensor.dtype()) << " in the policy";
      differences += line.str();
    }
  }
  for (const auto& [name, tensor] : stored) {
    if (!policy.contains(name)) differences += "\n  " + name + ": in the reference, not in the policy";
  }
  RG_CHECK(differences.empty(), "grpo: the reference model in ", path,
           " does not match the policy (another model or size); delete the checkpoint to start the stage afresh. "
           "Differences:",
           differences);
}

// A checkpoint's contents, validated against this stage: its configuration, and its reference against the policy.
struct StageCheckpoint {
  nn::StateDict policy, reference;
  OptimizerStateDict optim;
  json stage;
  std::optional<json> final;
};

StageCheckpoint read_stage_checkpoint(const std::string& path, const MiniOneRec& policy,
                                      const CheckpointConfiguration& configuration) {
  const CheckpointContents contents(path, {.reader = "grpo", .run = "stage", .writer = "recgrad's GRPO stage"});
  StageCheckpoint checkpoint;
  checkpoint.policy = contents.tensors("policy.");
  checkpoint.reference = contents.tensors("reference.");
  check_reference_matches(path, checkpoint.reference, policy.state_dict());
  contents.check_configuration(configuration);
  checkpoint.optim = contents.optimizer_state();
  checkpoint.stage = contents.entry("stage");
  if (contents.has_entry("final")) checkpoint.final = contents.entry("final");
  return checkpoint;
}

}  // namespace

void check_grpo_stage_options(const GrpoStageOptions& options, std::int64_t catalogue) {
  check_grpo_options(options.step, catalogue);
  RG_CHECK(options.sid_history_prompts >= 1, "grpo: sid_history_prompts must be >= 1, got ",
           options.sid_history_prompts);
  RG_CHECK(options.title_prompts >= 0, "grpo: title_prompts must be >= 0, got ", options.title_prompts);
  RG_CHECK(options.prompts_per_step >= 1, "grpo: prompts_per_step must be >= 1, got ", options.prompts_per_step);
  RG_CHECK(options.epochs >= 1, "grpo: epochs must be >= 1, got ", options.epochs);
  RG_CHECK(options.warmup_share >= 0 && options.warmup_share < 1, "grpo: warmup_share must be in [0, 1), got ",
           options.warmup_share);
  RG_CHECK(options.eval_every >= 0, "grpo: eval_every must be >= 0, got ", options.eval_every);
  RG_CHECK(options.checkpoint_every >= 1, "grpo: checkpoint_every must be >= 1, got ", options.checkpoint_every);
  RG_CHECK(std::isfinite(options.lr_scale) && options.lr_scale > 0, "grpo: lr_scale must be > 0, got ",
           options.lr_scale);
  RG_CHECK(!options.resume || !options.checkpoint_path.empty(), "grpo: resume needs a checkpoint_path");
}

GrpoStageResult grpo_stage(MiniOneRec& policy, TrainingOptimizer& optimizer, const datasets::SequenceDataset& data,
                           const GrpoStageOptions& options, const TrainerOptions& trainer,
                           const GrpoProgressCallback& progress) {
  const auto stage_start = std::chrono::steady_clock::now();
  check_grpo_stage_options(options, policy.num_items);
  const CheckpointConfiguration configuration = stage_configuration(policy, optimizer, options);
  std::shared_ptr<MiniOneRec> reference = policy.frozen_copy();
  GrpoStageResult result;
  std::int64_t step = 0;
  double seconds_before = 0.0;  // the total seconds of the runs this one continues
  if (options.resume && std::filesystem::exists(options.checkpoint_path)) {
    StageCheckpoint checkpoint = read_stage_checkpoint(options.checkpoint_path, policy, configuration);
    try {
      step = stage_from_json(checkpoint.stage, result);
      if (checkpoint.final) result.test = metrics_from_json(checkpoint.final->at("test"));
    } catch (const json::exception& error) {
      throw Error(detail::concat("grpo: checkpoint ", options.checkpoint_path,
                                 ": its stage log is incomplete or mistyped (", error.what(), ")"));
    }
    reference->load_state_dict(checkpoint.reference);
    policy.load_state_dict(checkpoint.policy);
    optimizer.load_state_dict(checkpoint.optim);
    result.resumed = true;
    seconds_before = result.total_seconds;
    if (checkpoint.final) return result;
  }
  const auto total_seconds = [&] { return seconds_before + seconds_since(stage_start); };
  const auto checkpoint = [&](bool finished) {
    if (options.checkpoint_path.empty()) return;
    result.total_seconds = total_seconds();
    save_stage_checkpoint(options.checkpoint_path, policy, *reference, optimizer, result, step, configuration,
                          finished);
  };
  const datasets::Split validation = spread_rows(data.valid, policy.validation_rows());
  const auto validate = [&] {
    EvalPoint point;
    point.step = step;
    point.seconds = result.train_seconds;
    policy.set_evaluation_split(datasets::SplitName::Valid);
    point.valid = evaluate(policy, validation, trainer);
    point.valid_loss = mean_loss(policy, validation, trainer);
    result.curve.push_back(point);
  };
  if (result.curve.empty()) {  // a fresh stage (a resumed one has validated its start)
    if (options.test_start) {
      policy.set_evaluation_split(datasets::SplitName::Test);
      result.sft_test = evaluate(policy, data.test, trainer);
    }
    validate();
    checkpoint(false);
  }
  HostRandom random(options.seed, 0x6772706fULL);  // "grpo"
  std::vector<PromptExample> prompts = stage_prompts(policy, data.train, options, random);
  const auto per_step = static_cast<std::int64_t>(options.prompts_per_step);
  const auto count = static_cast<std::int64_t>(prompts.size());
  const std::int64_t steps_per_epoch = (count + per_step - 1) / per_step;
  const std::int64_t total = steps_per_epoch * options.epochs;
  for (std::int64_t epoch = 0; epoch < options.epochs; ++epoch) {
    random.shuffle(prompts);  // replayed for the epochs a resumed stage has done
    for (std::int64_t first = 0; first < count; first += per_step) {
      if (epoch * steps_per_epoch + first / per_step < step) continue;
      const auto start = std::chrono::steady_clock::now();
      optimizer.set_lr_factor(options.lr_scale * schedule(step, total, options.warmup_share));
      const std::vector<PromptExample> batch(prompts.begin() + first,
                                             prompts.begin() + std::min(count, first + per_step));
      const GrpoStepLog log = grpo_step(policy, *reference, optimizer, batch, options.step);
      RG_CHECK(std::isfinite(log.loss), "grpo: the loss became ", log.loss, " at step ", step);
      result.steps.push_back(log);
      result.train_seconds += seconds_since(start);
      ++step;
      const bool evaluate_now = step == total || (options.eval_every > 0 && step % options.eval_every == 0);
      if (evaluate_now) validate();
      if (evaluate_now || step % options.checkpoint_every == 0) checkpoint(false);
      if (progress) {
        progress({step, total, log, evaluate_now, result.curve.back().valid.ndcg(10), result.train_seconds});
      }
    }
  }
  policy.set_evaluation_split(datasets::SplitName::Test);
  result.test = evaluate(policy, data.test, trainer);
  checkpoint(true);
  result.total_seconds = total_seconds();
  return result;
}

}  // namespace recgrad::recsys
