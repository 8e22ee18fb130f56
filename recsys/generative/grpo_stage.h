// MiniOneRec's reinforcement-learning stage after SFT: GRPO steps (recsys/generative/grpo.h) over a fixed, seeded
// set of prompts from the training split - next-SID prompts of training rows and title -> SID prompts of their
// target items, each carrying its target - for `epochs` passes in a seeded order, `prompts_per_step` prompts a
// step. The learning rate is the optimizer's own times lr_scale times a schedule that rises linearly over the first
// warmup_share of the steps, then follows a cosine to 0. The reference is a frozen copy of the policy as the stage
// starts. Validation NDCG@10 (the model's validation rows, as in SFT) before the first step, every `eval_every`
// steps and after the last; the test metrics are those of the final weights (MiniOneRec evaluates the last RL
// checkpoint), beside the test metrics of the weights the stage started from.
//
// Checkpoints (with checkpoint_path): every checkpoint_every steps, at each validation and at the end, one
// safetensors file, written atomically, holding the policy ("policy.*"), the frozen reference ("reference.*"),
// the optimizer state ("optim.*"), the stage's log and configuration, and once finished its result. With resume,
// a checkpoint of the same configuration continues the same trajectory (the prompt order is replayed from the
// seed); a finished one returns its result; a reference that does not match the policy is refused, naming the
// tensors that differ.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "datasets/sequence_dataset.h"
#include "recsys/generative/grpo.h"
#include "recsys/trainer.h"

namespace recgrad::recsys {

struct GrpoStageOptions {
  GrpoOptions step;
  std::int64_t sid_history_prompts = 2000;  // training rows (drawn without replacement; all when fewer)
  std::int64_t title_prompts = 500;         // their targets' title -> SID prompts
  std::int64_t prompts_per_step = 16;
  std::int64_t epochs = 1;
  /// The stage's peak lr as a share of the optimizer's own (every parameter group alike): RL takes smaller steps
  /// than SFT (MiniOneRec: 3e-4 -> 1e-5 at 1.5B; research/generative.md's CPU design: 1e-3 -> 1e-4).
  double lr_scale = 0.1;
  double warmup_share = 0.03;
  std::int64_t eval_every = 0;         // steps between validations (0: before and after only)
  std::int64_t checkpoint_every = 25;  // steps between checkpoints (besides those at validations and the end)
  bool test_start = true;              // test the starting weights (recbench passes its SFT run's test instead)
  std::string checkpoint_path;         // "" = no checkpoints
  bool resume = false;                 // continue from checkpoint_path when it exists
  std::uint64_t seed = 0;
};

/// Throws naming the option (and check_grpo_options' checks).
void check_grpo_stage_options(const GrpoStageOptions& options, std::int64_t catalogue);

struct GrpoStageResult {
  std::vector<GrpoStepLog> steps;
  std::vector<EvalPoint> curve;  // step 0 is the starting (SFT) model
  RankingMetrics sft_test;       // the weights the stage started from (empty unless test_start)
  RankingMetrics test;           // the final weights
  double train_seconds = 0.0;    // the steps only
  double total_seconds = 0.0;    // steps, validations and tests
  bool resumed = false;          // continued (or returned) from a checkpoint
};

/// What the progress callback sees after each step.
struct GrpoProgress {
  std::int64_t step = 0, total_steps = 0;
  GrpoStepLog log;
  bool evaluated = false;  // a validation ran after this step
  double last_valid_ndcg10 = -1.0;
  double seconds = 0.0;  // training seconds so far
};
using GrpoProgressCallback = std::function<void(const GrpoProgress&)>;

/// Runs the stage on `policy` (see the top of the file) with `optimizer` built over its parameters; `trainer`
/// supplies the evaluation settings (batch size, device). On return the policy holds the final weights.
GrpoStageResult grpo_stage(MiniOneRec& policy, TrainingOptimizer& optimizer, const datasets::SequenceDataset& data,
                           const GrpoStageOptions& options, const TrainerOptions& trainer,
                           const GrpoProgressCallback& progress = {});

}  // namespace recgrad::recsys
