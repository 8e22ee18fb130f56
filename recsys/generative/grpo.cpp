#include "recsys/generative/grpo.h"

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "core/error.h"
#include "core/ops/copy.h"
#include "optim/clip_grad.h"
#include "recsys/generative/grpo_loss.h"
#include "recsys/generative/lm_batch.h"

namespace recgrad::recsys {

void check_grpo_options(const GrpoOptions& options, std::int64_t catalogue) {
  RG_CHECK(options.group_size >= 2 && options.group_size <= catalogue, "grpo: group_size must be in 2..", catalogue,
           " (the catalogue's items: a group is that many distinct beams), got ", options.group_size);
  RG_CHECK(options.beta >= 0.0, "grpo: beta must be >= 0, got ", options.beta);
  RG_CHECK(options.clip_grad_norm >= 0.0, "grpo: clip_grad_norm must be >= 0 (0 = no clipping), got ",
           options.clip_grad_norm);
}

CompletionScores score_completions(const MiniOneRec& model, const std::vector<PromptExample>& completions) {
  const LmBatch batch = training_batch(completions);
  const Device device = model.lm->output_weight().device();
  nn::AttentionMasks masks;
  masks.key_padding_mask = raw::to_device(batch.padding, device);
  const Tensor hidden = model.lm->hidden_states(raw::to_device(batch.tokens, device), masks);
  const Tensor rows = index_select(reshape(hidden, {hidden.size(0) * hidden.size(1), hidden.size(2)}), 0,
                                   raw::to_device(batch.scored_positions, device));
  const Tensor log_probs = log_softmax(model.lm->logits(rows), 1);  // [N, V]
  CompletionScores scores;
  const Tensor targets = reshape(raw::to_device(batch.targets, device), {batch.targets.size(0), 1});
  scores.log_probs = reshape(gather(log_probs, 1, targets), {batch.targets.size(0)});
  {
    NoGradGuard no_grad;
    scores.entropies = neg(sum(mul(exp(log_probs), log_probs), {1}));
  }
  for (const PromptExample& e : completions) {
    scores.tokens_per_completion.push_back(static_cast<std::int64_t>(e.response.size()));
  }
  return scores;
}

GrpoStepLog grpo_step(MiniOneRec& policy, const MiniOneRec& reference, TrainingOptimizer& optimizer,
                      const std::vector<PromptExample>& prompts, const GrpoOptions& options) {
  check_grpo_options(options, policy.num_items);
  RG_CHECK(!prompts.empty(), "grpo: a step needs at least one prompt");
  const bool was_training = policy.is_training();
  policy.eval();  // rollouts and scores without dropout (the decoder has none; the task draws stay put)
  const std::vector<std::vector<ScoredItem>> beams = policy.recommend_prompts(prompts, options.group_size);
  std::vector<PromptExample> completions;
  std::vector<double> advantages;
  GrpoStepLog log;
  for (std::size_t p = 0; p < prompts.size(); ++p) {
    std::vector<datasets::ItemId> candidates;
    for (const ScoredItem& beam : beams[p]) candidates.push_back(beam.item);
    RG_CHECK(static_cast<std::int64_t>(candidates.size()) == options.group_size, "grpo: prompt ", p, " decoded ",
             candidates.size(), " beams instead of ", options.group_size);
    const std::vector<double> rewards = group_rewards(options.reward, candidates, prompts[p].item, policy.semantic_ids);
    const std::vector<double> group_advantage = group_advantages(rewards);
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      PromptExample completion = prompts[p];
      completion.response = policy.prompts.sid_tokens(candidates[i]);
      completion.response.push_back(policy.tokenizer->eos());
      completions.push_back(std::move(completion));
      advantages.push_back(group_advantage[i]);
      log.mean_reward += rewards[i];
      if (candidates[i] == prompts[p].item) log.hit_share += 1.0;  // beams are distinct: one hit at most
    }
  }
  log.mean_reward /= static_cast<double>(completions.size());
  log.hit_share /= static_cast<double>(prompts.size());
  Tensor reference_log_probs;
  {
    NoGradGuard no_grad;
    reference_log_probs = score_completions(reference, completions).log_probs;
  }
  optimizer.zero_grad();
  const CompletionScores scores = score_completions(policy, completions);
  const GrpoLoss loss =
      grpo_loss(scores.log_probs, reference_log_probs, scores.tokens_per_completion, advantages, options.beta);
  loss.loss.backward();
  if (options.clip_grad_norm > 0) clip_grad_norm_(policy.parameters(), options.clip_grad_norm);
  optimizer.step();
  log.loss = raw::to_device(loss.loss.detach(), Device::cpu()).item<double>();
  log.mean_kl = loss.mean_kl;
  log.entropy = raw::to_device(mean(scores.entropies), Device::cpu()).item<double>();
  if (was_training) policy.train();
  return log;
}

}  // namespace recgrad::recsys
