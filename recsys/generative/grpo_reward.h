// The rewards and advantages of Group Relative Policy Optimization over one group: the G candidates that the
// trie-constrained beam search decoded for one prompt (distinct valid items, best beam first), scored against the
// prompt's target item, which travels with the sample (never looked up by prompt text).
//
//   rule        r_i = [c_i == target]
//   ranking     MiniOneRec's "ranking" reward, rule + ndcg_rule: when the group holds the target, each wrong
//               candidate at rank i (0-based) also gets  -(1 / log2(i + 2)) / sum_{j<G} 1 / log2(j + 2)  (a wrong
//               item ranked high costs more); a group without the target gets all zeros
//   sid_prefix  ours, a signal where the group misses: 1 for the target; for another item, half the share of the
//               target's semantic-ID levels it matches from the first level on (p matching leading codes of L:
//               0.5 p / L), so that beams in the target's branch of the trie beat beams elsewhere
//
//   advantage   A_i = (r_i - mean(r)) / (std(r) + 1e-4), std unbiased (G - 1): a group of equal rewards gives 0
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/sequence_dataset.h"
#include "recsys/generative/semantic_ids.h"

namespace recgrad::recsys {

enum class GroupReward { rule, ranking, sid_prefix };

/// "rule", "ranking", "sid_prefix".
std::string to_string(GroupReward reward);
/// The reward named `name`; throws listing the known names.
GroupReward group_reward_from_name(const std::string& name);

/// The rewards of `candidates` (best first) for `target` (see the top of the file). `sids` is read by sid_prefix
/// only. Throws for an empty group or a candidate that repeats.
std::vector<double> group_rewards(GroupReward reward, const std::vector<datasets::ItemId>& candidates,
                                  datasets::ItemId target, const SemanticIds& sids);

/// A_i = (r_i - mean) / (unbiased std + 1e-4); throws for fewer than 2 rewards (no spread to normalise by).
std::vector<double> group_advantages(const std::vector<double>& rewards);

}  // namespace recgrad::recsys
