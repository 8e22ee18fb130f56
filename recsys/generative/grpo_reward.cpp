#include "recsys/generative/grpo_reward.h"

#include <cmath>
#include <set>

#include "core/error.h"

namespace recgrad::recsys {

std::string to_string(GroupReward reward) {
  switch (reward) {
    case GroupReward::rule:
      return "rule";
    case GroupReward::ranking:
      return "ranking";
    case GroupReward::sid_prefix:
      return "sid_prefix";
  }
  return "?";
}

GroupReward group_reward_from_name(const std::string& name) {
  for (const GroupReward reward : {GroupReward::rule, GroupReward::ranking, GroupReward::sid_prefix}) {
    if (to_string(reward) == name) return reward;
  }
  throw Error("unknown GRPO reward '" + name + "' (known: rule, ranking, sid_prefix)");
}

std::vector<double> group_rewards(GroupReward reward, const std::vector<datasets::ItemId>& candidates,
                                  datasets::ItemId target, const SemanticIds& sids) {
  RG_CHECK(!candidates.empty(), "group_rewards: the group has no candidates");
  RG_CHECK(std::set<datasets::ItemId>(candidates.begin(), candidates.end()).size() == candidates.size(),
           "group_rewards: a candidate repeats in the group (beam search returns distinct items)");
  const std::size_t g = candidates.size();
  std::vector<double> rewards(g, 0.0);
  bool hit = false;
  for (std::size_t i = 0; i < g; ++i) {
    rewards[i] = candidates[i] == target ? 1.0 : 0.0;
    hit = hit || candidates[i] == target;
  }
  if (reward == GroupReward::ranking && hit) {
    double normaliser = 0.0;
    for (std::size_t j = 0; j < g; ++j) normaliser += 1.0 / std::log2(static_cast<double>(j) + 2.0);
    for (std::size_t i = 0; i < g; ++i) {
      if (candidates[i] != target) rewards[i] = -(1.0 / std::log2(static_cast<double>(i) + 2.0)) / normaliser;
    }
  }
  if (reward == GroupReward::sid_prefix) {
    RG_CHECK(target >= 1 && target <= sids.num_items, "group_rewards: target item ", target, " is not in 1..",
             sids.num_items);
    const auto wanted = sids.of(target);
    for (std::size_t i = 0; i < g; ++i) {
      if (candidates[i] == target) continue;
      RG_CHECK(candidates[i] >= 1 && candidates[i] <= sids.num_items, "group_rewards: candidate item ", candidates[i],
               " is not in 1..", sids.num_items);
      const auto codes = sids.of(candidates[i]);
      std::size_t prefix = 0;
      while (prefix < codes.size() && codes[prefix] == wanted[prefix]) ++prefix;
      rewards[i] = 0.5 * static_cast<double>(prefix) / static_cast<double>(codes.size());
    }
  }
  return rewards;
}

std::vector<double> group_advantages(const std::vector<double>& rewards) {
  RG_CHECK(rewards.size() >= 2, "group_advantages: a group needs at least 2 rewards, got ", rewards.size());
  const auto n = static_cast<double>(rewards.size());
  double mean = 0.0;
  for (const double r : rewards) mean += r;
  mean /= n;
  double squares = 0.0;
  for (const double r : rewards) squares += (r - mean) * (r - mean);
  const double std = std::sqrt(squares / (n - 1.0));
  std::vector<double> advantages;
  for (const double r : rewards) advantages.push_back((r - mean) / (std + 1e-4));
  return advantages;
}

}  // namespace recgrad::recsys
