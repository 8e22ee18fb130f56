// The tuned protocol's search (recsys/tuning.h) on score functions with a known optimum: the chosen learning
// rate is bracketed by two worse tried values, the grid extends past its edges, each point is scored once, and
// the weight decay axis starts at 0.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "recsys/tuning.h"

using namespace recgrad::recsys;

namespace {

/// A smooth peak in log(lr) at `best_lr` (and, when given, in log10(wd + 1e-6) at `best_wd`).
double peaked(const OptimizerOverrides& point, double best_lr, double best_wd) {
  double score = -std::pow(std::log(*point.lr / best_lr), 2);
  if (point.weight_decay) score -= std::pow(std::log10((*point.weight_decay + 1e-6) / (best_wd + 1e-6)), 2);
  return score;
}

}  // namespace

TEST(Tuning, ChoosesABracketedLearningRateAndExtendsTheGrid) {
  std::map<std::string, int> calls;
  const OptimizerOverrides start{1e-3, std::nullopt, std::nullopt};
  const TuningOutcome outcome = tune_coordinatewise(start, [&](const OptimizerOverrides& p) {
    ++calls[overrides_text(p)];
    return peaked(p, 0.03, 0);
  });
  const OptimizerOverrides& chosen = outcome.best;
  EXPECT_TRUE(outcome.unbracketed.empty());
  // from 1e-3 the grid must extend upwards twice: 3e-3, 9e-3, 0.027, 0.081; 0.027 is closest to 0.03 in log
  EXPECT_DOUBLE_EQ(*chosen.lr, 0.027);
  EXPECT_TRUE(calls.count("lr=0.009") && calls.count("lr=0.081")) << "the winner is bracketed by tried values";
  for (const auto& [point, n] : calls) EXPECT_EQ(n, 1) << point << " scored more than once";
  EXPECT_FALSE(chosen.adamw_lr.has_value());
  EXPECT_FALSE(chosen.weight_decay.has_value());
}

TEST(Tuning, ExtendsDownwardsAndSearchesEveryAxis) {
  const OptimizerOverrides start{0.02, 0.01, 0.0};
  std::map<std::string, int> calls;
  const TuningOutcome outcome = tune_coordinatewise(start, [&](const OptimizerOverrides& p) {
    ++calls[overrides_text(p)];
    return peaked(p, 0.0025, 1e-3) - std::pow(std::log(*p.adamw_lr / 0.1), 2);
  });
  const OptimizerOverrides& chosen = outcome.best;
  EXPECT_TRUE(outcome.unbracketed.empty());
  EXPECT_NEAR(*chosen.lr, 0.00222, 1e-12);  // 0.02 / 9 with 3 significant digits
  EXPECT_DOUBLE_EQ(*chosen.adamw_lr, 0.09);
  EXPECT_DOUBLE_EQ(*chosen.weight_decay, 1e-3);
  EXPECT_TRUE(calls.count("lr=0.00222 adamw_lr=0.01 wd=0")) << "the lr axis runs first, at the start's other values";
}

TEST(Tuning, AWinnerStillOnTheEdgeAfterFourExtensionsIsReportedUnbracketed) {
  // the score keeps rising with the lr: 3 starting values, then 4 extensions upwards, and the top one wins
  std::map<std::string, int> calls;
  const TuningOutcome outcome = tune_coordinatewise({1e-3, std::nullopt, 0.0}, [&](const OptimizerOverrides& p) {
    ++calls[overrides_text(p)];
    return std::log(*p.lr) - *p.weight_decay;
  });
  EXPECT_DOUBLE_EQ(*outcome.best.lr, 0.243);  // 1e-3 x 3^5, 3 significant digits at each step
  EXPECT_EQ(outcome.unbracketed, std::vector<std::string>{"lr"});
  EXPECT_DOUBLE_EQ(*outcome.best.weight_decay, 0.0);  // 0 is the decay's natural edge: bracketed
  EXPECT_EQ(calls.size(), 7u + 3u);  // lr: 3 + 4 extensions; wd: 1e-4, 1e-3, 1e-2 (0 was already scored)
}

TEST(Tuning, ExactText) {
  EXPECT_EQ(exact_text(0.02), "0.02");
  EXPECT_EQ(exact_text(1e-7), "1e-07");
  EXPECT_EQ(exact_text(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(overrides_text({0.02, std::nullopt, 0.0}), "lr=0.02 wd=0");
}
