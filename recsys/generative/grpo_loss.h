// The loss of one GRPO update (MiniOneRec's rl.py, after trl's GRPOTrainer with one on-policy update per rollout,
// so no old policy and no ratio clipping). For completion c of C (the candidates of all the prompts of a step) with
// advantage A_c and n_c tokens (its SID tokens and <eos>), and each of its tokens t with the policy's
// log-probability logp_t (full-vocabulary softmax, differentiable) and the frozen reference's ref_t:
//
//   KL_t   = exp(ref_t - logp_t) - (ref_t - logp_t) - 1        (k3 estimator of KL(policy || reference), >= 0)
//   l_t    = -( exp(logp_t - stopgrad(logp_t)) A_c - beta KL_t )
//   loss   = (1 / C) sum_c (1 / n_c) sum_{t in c} l_t
//
// exp(logp - stopgrad(logp)) is 1 in value, and its gradient is that of logp: the loss's gradient is
// (1 / C) sum_c (1 / n_c) sum_t ( -A_c grad logp_t + beta grad KL_t ), the policy gradient with a KL pull.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace recgrad::recsys {

/// What a GRPO loss also reports: the mean KL_t over the completions' tokens (each completion weighing the same).
struct GrpoLoss {
  Tensor loss;  // scalar, differentiable through policy_log_probs
  double mean_kl = 0.0;
};

/// The loss above. policy_log_probs and reference_log_probs: [N] log-probabilities of the completions' tokens,
/// completion by completion in order; tokens_per_completion[c] = n_c (their sum is N); advantages[c] = A_c.
/// Throws for mismatched sizes, a completion without tokens, or beta < 0.
GrpoLoss grpo_loss(const Tensor& policy_log_probs, const Tensor& reference_log_probs,
                   const std::vector<std::int64_t>& tokens_per_completion, const std::vector<double>& advantages,
                   double beta);

}  // namespace recgrad::recsys
