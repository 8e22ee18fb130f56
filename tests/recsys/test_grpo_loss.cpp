// GRPO's loss (recsys/generative/grpo_loss.h) on a tiny Qwen2 decoder in f64: its gradient against central finite
// differences of the loss it stands for (the stop-gradient ratio replaced by logp itself), zero KL and zero gradient
// when the policy is the reference and every advantage is 0, one step with beta = 0 raising the log-probability of
// the one rewarded candidate of a group, and clear errors.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/grad_mode.h"
#include "core/ops/copy.h"
#include "nn/qwen2.h"
#include "optim/sgd.h"
#include "recgrad.h"
#include "recsys/generative/grpo_loss.h"
#include "recsys/generative/grpo_reward.h"
#include "recsys/generative/lm_batch.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::recsys;
using recgrad::testing::expect_error;

namespace {

constexpr std::int64_t kVocab = 12;

std::shared_ptr<nn::Qwen2ForCausalLM> tiny_decoder(std::uint64_t seed, double scale) {
  nn::Qwen2Config config;
  config.vocab_size = kVocab;
  config.hidden_size = 8;
  config.num_hidden_layers = 1;
  config.num_attention_heads = 2;
  config.num_key_value_heads = 1;
  config.intermediate_size = 8;
  manual_seed(seed);
  auto model = std::make_shared<nn::Qwen2ForCausalLM>(config);
  for (const Tensor& p : model->parameters()) {  // away from the 0.02 start, so the log-probabilities differ
    NoGradGuard no_grad;
    raw::copy_(p, mul(p, scale));
  }
  model->to_dtype(DType::f64);
  return model;
}

// A group of 4 completions of one prompt [1, 2, 3]: candidates of 2 tokens plus <eos> (token 11), and one of 1.
std::vector<PromptExample> completions() {
  const std::vector<std::int64_t> prompt = {1, 2, 3};
  return {{prompt, {4, 5, 11}, PromptTask::sid_history, 1},
          {prompt, {4, 6, 11}, PromptTask::sid_history, 2},
          {prompt, {7, 8, 11}, PromptTask::sid_history, 3},
          {prompt, {9, 11}, PromptTask::sid_history, 4}};
}

// log p of every completion token under `model`: [N], completion by completion.
Tensor completion_log_probs(const nn::Qwen2ForCausalLM& model, const LmBatch& batch) {
  nn::AttentionMasks masks;
  masks.key_padding_mask = batch.padding;
  const Tensor hidden = model.hidden_states(batch.tokens, masks);
  const Tensor rows =
      index_select(reshape(hidden, {hidden.size(0) * hidden.size(1), hidden.size(2)}), 0, batch.scored_positions);
  return neg(cross_entropy(model.logits(rows), batch.targets, {.reduction = Reduction::None}));
}

std::vector<std::int64_t> lengths_of(const std::vector<PromptExample>& examples) {
  std::vector<std::int64_t> lengths;
  for (const PromptExample& e : examples) lengths.push_back(static_cast<std::int64_t>(e.response.size()));
  return lengths;
}

}  // namespace

TEST(GrpoLoss, GradientMatchesFiniteDifferences) {
  const auto policy = tiny_decoder(1, 3.0);
  const auto reference = tiny_decoder(2, 3.0);
  const std::vector<PromptExample> group = completions();
  const LmBatch batch = training_batch(group);
  const std::vector<std::int64_t> lengths = lengths_of(group);
  const std::vector<double> advantages = {1.2, -0.4, 0.3, -1.1};
  const double beta = 0.7;  // large, so the KL term's gradient counts
  Tensor reference_logp;
  {
    NoGradGuard no_grad;
    reference_logp = completion_log_probs(*reference, batch);
  }
  policy->zero_grad();
  grpo_loss(completion_log_probs(*policy, batch), reference_logp, lengths, advantages, beta).loss.backward();
  // the loss GRPO's gradient stands for: the ratio replaced by logp itself
  const auto stood_for = [&]() {
    NoGradGuard no_grad;
    const std::vector<double> logp = completion_log_probs(*policy, batch).to_vector<double>();
    const std::vector<double> ref = reference_logp.to_vector<double>();
    double total = 0.0;
    std::size_t t = 0;
    for (std::size_t c = 0; c < lengths.size(); ++c) {
      for (std::int64_t k = 0; k < lengths[c]; ++k, ++t) {
        const double gap = ref[t] - logp[t];
        const double kl = std::exp(gap) - gap - 1.0;
        total += (-advantages[c] * logp[t] + beta * kl) / (4.0 * static_cast<double>(lengths[c]));
      }
    }
    return total;
  };
  const double h = 1e-6;
  std::int64_t checked = 0;
  for (const auto& [name, parameter] : policy->named_parameters()) {
    const std::vector<double> grad = parameter.grad().to_vector<double>();
    Tensor flat = reshape(parameter, {parameter.numel()});
    for (std::int64_t i = 0; i < parameter.numel(); i += 7) {  // every 7th element of every parameter
      const double value = flat.to_vector<double>()[static_cast<std::size_t>(i)];
      const auto set = [&](double v) {
        NoGradGuard no_grad;
        raw::fill_(narrow(flat, 0, i, 1), v);
      };
      set(value + h);
      const double up = stood_for();
      set(value - h);
      const double down = stood_for();
      set(value);
      const double numeric = (up - down) / (2 * h);
      EXPECT_NEAR(grad[static_cast<std::size_t>(i)], numeric, 1e-6 * (1 + std::abs(numeric)))
          << name << "[" << i << "]";
      ++checked;
    }
  }
  EXPECT_GT(checked, 20);
}

TEST(GrpoLoss, NoKlAndNoGradientWhenThePolicyIsTheReference) {
  const auto policy = tiny_decoder(3, 10.0);
  const LmBatch batch = training_batch(completions());
  const Tensor logp = completion_log_probs(*policy, batch);
  const GrpoLoss result = grpo_loss(logp, logp.detach(), lengths_of(completions()), {0, 0, 0, 0}, 0.5);
  EXPECT_EQ(result.mean_kl, 0.0);
  EXPECT_EQ(result.loss.item<double>(), 0.0);
  policy->zero_grad();
  result.loss.backward();
  for (const auto& [name, parameter] : policy->named_parameters()) {
    for (const double g : parameter.grad().to_vector<double>()) EXPECT_EQ(g, 0.0) << name;
  }
}

TEST(GrpoLoss, AStepRaisesTheRewardedCandidate) {
  const auto policy = tiny_decoder(4, 3.0);
  const std::vector<PromptExample> group = completions();
  const LmBatch batch = training_batch(group);
  SemanticIds unused;
  // candidate 2 (index 1) is the target: the rule reward and its advantages
  const std::vector<double> advantages = group_advantages(group_rewards(GroupReward::rule, {1, 2, 3, 4}, 2, unused));
  const auto log_prob_of_candidate = [&](std::size_t c) {
    NoGradGuard no_grad;
    const std::vector<double> logp = completion_log_probs(*policy, batch).to_vector<double>();
    double sum = 0.0;
    std::size_t t = 0;
    for (std::size_t k = 0; k < group.size(); ++k) {
      for (std::size_t j = 0; j < group[k].response.size(); ++j, ++t)
        if (k == c) sum += logp[t];
    }
    return sum;
  };
  const double before = log_prob_of_candidate(1);
  const Tensor logp = completion_log_probs(*policy, batch);
  SGD optimizer(policy->parameters(), SGDOptions{.lr = 0.1});
  optimizer.zero_grad();
  grpo_loss(logp, logp.detach(), lengths_of(group), advantages, 0.0).loss.backward();
  optimizer.step();
  EXPECT_GT(log_prob_of_candidate(1), before + 1e-3);
}

TEST(GrpoLoss, BadInputIsAClearError) {
  const Tensor logp = zeros({5}, {.dtype = DType::f64});
  expect_error([&] { grpo_loss(logp, logp, {3, 2}, {0.1, 0.2}, -1e-3); }, {"beta must be >= 0"});
  expect_error([&] { grpo_loss(logp, logp, {3, 2}, {0.1}, 0.1); }, {"2 completions but 1 advantages"});
  expect_error([&] { grpo_loss(logp, logp, {3, 0, 2}, {0.1, 0.2, 0.3}, 0.1); }, {"no tokens"});
  expect_error([&] { grpo_loss(logp, logp, {3, 3}, {0.1, 0.2}, 0.1); }, {"[6]"});
}
