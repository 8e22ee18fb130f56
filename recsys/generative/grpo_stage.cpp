#include "recsys/generative/grpo_stage.h"

#include <chrono>
#include <cmath>

#include "core/error.h"
#include "core/host_random.h"

namespace recgrad::recsys {
namespace {

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
}

GrpoStageResult grpo_stage(MiniOneRec& policy, TrainingOptimizer& optimizer, const datasets::SequenceDataset& data,
                           const GrpoStageOptions& options, const TrainerOptions& trainer) {
  check_grpo_stage_options(options, policy.num_items);
  const std::shared_ptr<const MiniOneRec> reference = policy.frozen_copy();
  const datasets::Split validation = spread_rows(data.valid, policy.validation_rows());
  GrpoStageResult result;
  std::int64_t step = 0;
  const auto validate = [&] {
    EvalPoint point;
    point.step = step;
    point.seconds = result.train_seconds;
    policy.set_evaluation_split(datasets::SplitName::Valid);
    point.valid = evaluate(policy, validation, trainer);
    point.valid_loss = mean_loss(policy, validation, trainer);
    result.curve.push_back(point);
  };
  policy.set_evaluation_split(datasets::SplitName::Test);
  result.sft_test = evaluate(policy, data.test, trainer);
  validate();
  HostRandom random(options.seed, 0x6772706fULL);  // "grpo"
  std::vector<PromptExample> prompts = stage_prompts(policy, data.train, options, random);
  const auto per_step = static_cast<std::size_t>(options.prompts_per_step);
  const std::int64_t steps_per_epoch = static_cast<std::int64_t>((prompts.size() + per_step - 1) / per_step);
  const std::int64_t total = steps_per_epoch * options.epochs;
  for (std::int64_t epoch = 0; epoch < options.epochs; ++epoch) {
    random.shuffle(prompts);
    for (std::size_t first = 0; first < prompts.size(); first += per_step) {
      const auto start = std::chrono::steady_clock::now();
      optimizer.set_lr_factor(schedule(step, total, options.warmup_share));
      const std::vector<PromptExample> batch(
          prompts.begin() + static_cast<std::ptrdiff_t>(first),
          prompts.begin() + static_cast<std::ptrdiff_t>(std::min(prompts.size(), first + per_step)));
      const GrpoStepLog log = grpo_step(policy, *reference, optimizer, batch, options.step);
      RG_CHECK(std::isfinite(log.loss), "grpo: the loss became ", log.loss, " at step ", step);
      result.steps.push_back(log);
      result.train_seconds += seconds_since(start);
      ++step;
      if (options.eval_every > 0 && step % options.eval_every == 0 && step < total) validate();
    }
  }
  validate();
  policy.set_evaluation_split(datasets::SplitName::Test);
  result.test = evaluate(policy, data.test, trainer);
  return result;
}

}  // namespace recgrad::recsys
