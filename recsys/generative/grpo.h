// One step of MiniOneRec's reinforcement-learning stage, Group Relative Policy Optimization (MiniOneRec's rl.py):
//
//   1. rollouts    for each prompt (a next-SID or title -> SID example that carries its target), the G distinct,
//                  valid items of the policy's trie-constrained beam search (not sampling), best beam first
//   2. rewards     per group, against the prompt's own target (recsys/generative/grpo_reward.h), and the group's
//                  normalised advantages
//   3. update      the GRPO loss of the G completions of every prompt - each candidate's SID tokens and <eos> after
//                  the prompt - against the frozen reference model (recsys/generative/grpo_loss.h), backward, the
//                  gradient clipped to clip_grad_norm, one optimizer step
//
// Logged per step: the loss, the mean reward, the share of groups whose beams hold the target, the mean KL to the
// reference, and the policy's mean entropy (full vocabulary) at the completion tokens.
#pragma once

#include <cstdint>
#include <vector>

#include "recsys/generative/grpo_reward.h"
#include "recsys/generative/minionerec.h"
#include "recsys/training_optimizer.h"

namespace recgrad::recsys {

struct GrpoOptions {
  std::int64_t group_size = 8;  // G: beams per prompt (MiniOneRec uses 16 on GPUs; 8 keeps a CPU step short)
  double beta = 1e-3;           // the KL weight (MiniOneRec 1e-3; MuonRec's runs 0.1)
  GroupReward reward = GroupReward::ranking;
  double clip_grad_norm = 0.3;  // 0: no clipping
};

/// Throws naming the option: a group of fewer than 2 or more than `catalogue` items, beta < 0, a negative clip.
void check_grpo_options(const GrpoOptions& options, std::int64_t catalogue);

/// What one step measured.
struct GrpoStepLog {
  double loss = 0.0;
  double mean_reward = 0.0;
  double hit_share = 0.0;  // groups whose beams hold the target
  double mean_kl = 0.0;
  double entropy = 0.0;  // nats, mean over the completion tokens
};

/// The completions' per-token log-probabilities [N] (differentiable unless under NoGradGuard) and entropies of
/// `model`'s next-token distributions at those tokens, in the order of `completions`, and each one's token count.
struct CompletionScores {
  Tensor log_probs;
  Tensor entropies;
  std::vector<std::int64_t> tokens_per_completion;
};
CompletionScores score_completions(const MiniOneRec& model, const std::vector<PromptExample>& completions);

/// One GRPO step of `policy` on `prompts` (see the top of the file); `reference` stays as it is.
GrpoStepLog grpo_step(MiniOneRec& policy, const MiniOneRec& reference, TrainingOptimizer& optimizer,
                      const std::vector<PromptExample>& prompts, const GrpoOptions& options);

}  // namespace recgrad::recsys
