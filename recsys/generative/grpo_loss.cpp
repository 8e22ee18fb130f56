#include "recsys/generative/grpo_loss.h"

#include "autograd/ops.h"
#include "core/error.h"
#include "core/factory.h"
#include "core/ops/copy.h"

namespace recgrad::recsys {

GrpoLoss grpo_loss(const Tensor& policy_log_probs, const Tensor& reference_log_probs,
                   const std::vector<std::int64_t>& tokens_per_completion, const std::vector<double>& advantages,
                   double beta) {
  RG_CHECK(beta >= 0.0, "grpo_loss: beta must be >= 0, got ", beta);
  RG_CHECK(!tokens_per_completion.empty() && tokens_per_completion.size() == advantages.size(),
           "grpo_loss: ", tokens_per_completion.size(), " completions but ", advantages.size(), " advantages");
  std::int64_t n = 0;
  for (const std::int64_t count : tokens_per_completion) {
    RG_CHECK(count >= 1, "grpo_loss: a completion has no tokens");
    n += count;
  }
  RG_CHECK(policy_log_probs.dim() == 1 && policy_log_probs.size(0) == n && reference_log_probs.dim() == 1 &&
               reference_log_probs.size(0) == n,
           "grpo_loss: expected log-probabilities [", n, "] for the completions' tokens, got policy ",
           policy_log_probs.shape(), " and reference ", reference_log_probs.shape());
  // per token: its completion's advantage, and the weight 1 / (C n_c)
  std::vector<double> advantage_of_token, weight_of_token;
  const auto completions = static_cast<double>(tokens_per_completion.size());
  for (std::size_t c = 0; c < tokens_per_completion.size(); ++c) {
    for (std::int64_t t = 0; t < tokens_per_completion[c]; ++t) {
      advantage_of_token.push_back(advantages[c]);
      weight_of_token.push_back(1.0 / (completions * static_cast<double>(tokens_per_completion[c])));
    }
  }
  const Device device = policy_log_probs.device();
  const DType dtype = policy_log_probs.dtype();
  const auto column = [&](const std::vector<double>& values) {
    return raw::to_device(raw::to_dtype(from_vector(values, {n}), dtype), device);
  };
  const Tensor advantage = column(advantage_of_token), weight = column(weight_of_token);
  const Tensor reference = reference_log_probs.detach();
  const Tensor ratio = exp(sub(policy_log_probs, policy_log_probs.detach()));  // 1, with logp's gradient
  const Tensor gap = sub(reference, policy_log_probs);
  const Tensor kl = add(sub(exp(gap), gap), -1.0);
  const Tensor per_token = sub(mul(kl, beta), mul(ratio, advantage));
  GrpoLoss result;
  result.loss = sum(mul(per_token, weight));
  result.mean_kl = raw::to_device(sum(mul(kl, weight)).detach(), Device::cpu()).item<double>();
  return result;
}

}  // namespace recgrad::recsys
