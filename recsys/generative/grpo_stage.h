// MiniOneRec's reinforcement-learning stage after SFT: GRPO steps (recsys/generative/grpo.h) over a fixed, seeded
// set of prompts from the training split - next-SID prompts of training rows and title -> SID prompts of their
// target items, each carrying its target - for `epochs` passes in a seeded order, `prompts_per_step` prompts a
// step; the learning rate rises linearly over the first warmup_share of the steps, then follows a cosine to 0;
// the reference is a frozen copy of the policy as the stage starts. Validation NDCG@10 (the model's validation
// rows, as in SFT) before the first step, every `eval_every` steps and after the last; the test metrics are those of
// the final weights (MiniOneRec evaluates the last RL checkpoint), beside the test metrics of the SFT weights.
#pragma once

#include <cstdint>
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
  double warmup_share = 0.03;
  std::int64_t eval_every = 0;  // steps between validations (0: before and after only)
  std::uint64_t seed = 0;
};

/// Throws naming the option (and check_grpo_options' checks).
void check_grpo_stage_options(const GrpoStageOptions& options, std::int64_t catalogue);

struct GrpoStageResult {
  std::vector<GrpoStepLog> steps;
  std::vector<EvalPoint> curve;  // step 0 is the SFT model
  RankingMetrics sft_test;       // the weights the stage started from
  RankingMetrics test;           // the final weights
  double train_seconds = 0.0;    // the steps only
};

/// Runs the stage on `policy` (see the top of the file) with `optimizer` built over its parameters; `trainer`
/// supplies the evaluation settings (batch size, device).
GrpoStageResult grpo_stage(MiniOneRec& policy, TrainingOptimizer& optimizer, const datasets::SequenceDataset& data,
                           const GrpoStageOptions& options, const TrainerOptions& trainer);

}  // namespace recgrad::recsys
