// GRPO's group rewards and advantages (recsys/generative/grpo_reward.h) on hand-computed groups: MiniOneRec's
// ranking reward for G = 8 and 16 with the target at rank 0, at rank 5 and absent; the rule reward; our SID-prefix
// reward; the advantage normalisation, including a group of equal rewards.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "recsys/generative/grpo_reward.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::recsys;
using datasets::ItemId;
using recgrad::testing::expect_error;

namespace {

// 20 items; item i has codes (i / 8, (i / 2) % 4, i % 2): items 2k and 2k + 1 share their first two levels.
SemanticIds catalogue() {
  SemanticIds ids;
  ids.num_items = 20;
  ids.codebook_sizes = {3, 4, 2};
  ids.codes.assign(21 * 3, 0);
  for (ItemId i = 1; i <= 20; ++i) {
    ids.codes[static_cast<std::size_t>(i * 3)] = static_cast<std::int32_t>(i / 8);
    ids.codes[static_cast<std::size_t>(i * 3 + 1)] = static_cast<std::int32_t>((i / 2) % 4);
    ids.codes[static_cast<std::size_t>(i * 3 + 2)] = static_cast<std::int32_t>(i % 2);
  }
  return ids;
}

std::vector<ItemId> first_items(std::int64_t g, ItemId from = 1) {
  std::vector<ItemId> items(static_cast<std::size_t>(g));
  std::iota(items.begin(), items.end(), from);
  return items;
}

}  // namespace

TEST(GrpoReward, RankingRewardOfHandComputedGroups) {
  const SemanticIds ids = catalogue();
  // G = 8: sum_{j<8} 1/log2(j+2) = 3.95346...; the wrong beam at rank 0 gets -0.25294, at rank 7 -0.07979
  {
    const std::vector<ItemId> group = first_items(8);  // items 1..8
    const std::vector<double> at_rank_0 = group_rewards(GroupReward::ranking, group, 1, ids);
    EXPECT_DOUBLE_EQ(at_rank_0[0], 1.0);
    const double normaliser = 1 + 1 / std::log2(3.0) + 0.5 + 1 / std::log2(5.0) + 1 / std::log2(6.0) +
                              1 / std::log2(7.0) + 1 / std::log2(8.0) + 1 / std::log2(9.0);
    EXPECT_NEAR(normaliser, 3.95346, 1e-5);
    for (std::size_t i = 1; i < 8; ++i) {
      EXPECT_DOUBLE_EQ(at_rank_0[i], -(1 / std::log2(static_cast<double>(i) + 2)) / normaliser) << i;
    }
    EXPECT_NEAR(at_rank_0[7], -0.07979, 1e-5);
    const std::vector<double> at_rank_5 = group_rewards(GroupReward::ranking, group, 6, ids);
    EXPECT_DOUBLE_EQ(at_rank_5[5], 1.0);
    EXPECT_NEAR(at_rank_5[0], -0.25294, 1e-5);  // the wrong item above the target at rank 0 costs the most
    EXPECT_DOUBLE_EQ(at_rank_5[6], -(1 / std::log2(8.0)) / normaliser);
    const std::vector<double> absent = group_rewards(GroupReward::ranking, group, 15, ids);
    EXPECT_EQ(absent, std::vector<double>(8, 0.0)) << "a group without the target gives no signal";
  }
  // G = 16: -0.16377 at rank 0 ... -0.04007 at rank 15
  {
    const std::vector<ItemId> group = first_items(16);
    const std::vector<double> at_rank_5 = group_rewards(GroupReward::ranking, group, 6, ids);
    EXPECT_DOUBLE_EQ(at_rank_5[5], 1.0);
    EXPECT_NEAR(at_rank_5[0], -0.16377, 1e-5);
    EXPECT_NEAR(at_rank_5[15], -0.04007, 1e-5);
    EXPECT_EQ(group_rewards(GroupReward::ranking, group, 20, ids), std::vector<double>(16, 0.0));
  }
}

TEST(GrpoReward, RuleAndSidPrefixRewards) {
  const SemanticIds ids = catalogue();
  const std::vector<ItemId> group = {4, 5, 6, 12};  // codes (0,2,0) (0,2,1) (0,3,0) (1,2,0)
  EXPECT_EQ(group_rewards(GroupReward::rule, group, 5, ids), (std::vector<double>{0, 1, 0, 0}));
  EXPECT_EQ(group_rewards(GroupReward::rule, group, 7, ids), (std::vector<double>{0, 0, 0, 0}));
  // target 7 = (0,3,1): item 6 shares two levels (0.5 * 2/3), items 4 and 5 one (0.5 * 1/3), item 12 none
  const std::vector<double> prefix = group_rewards(GroupReward::sid_prefix, group, 7, ids);
  EXPECT_DOUBLE_EQ(prefix[0], 0.5 / 3);
  EXPECT_DOUBLE_EQ(prefix[1], 0.5 / 3);
  EXPECT_DOUBLE_EQ(prefix[2], 1.0 / 3);
  EXPECT_DOUBLE_EQ(prefix[3], 0.0);
  EXPECT_DOUBLE_EQ(group_rewards(GroupReward::sid_prefix, group, 6, ids)[2], 1.0);
}

TEST(GrpoReward, AdvantagesAreNormalisedWithinTheGroup) {
  const std::vector<double> advantages = group_advantages({1.0, 0.0, 0.0, 0.0});
  // mean 0.25, unbiased std sqrt((0.5625 + 3 * 0.0625) / 3) = 0.5
  EXPECT_NEAR(advantages[0], 0.75 / (0.5 + 1e-4), 1e-12);
  EXPECT_NEAR(advantages[1], -0.25 / (0.5 + 1e-4), 1e-12);
  EXPECT_NEAR(std::accumulate(advantages.begin(), advantages.end(), 0.0), 0.0, 1e-12);
  EXPECT_EQ(group_advantages({0.3, 0.3, 0.3}), std::vector<double>(3, 0.0)) << "equal rewards: no advantage";
  expect_error([] { group_advantages({1.0}); }, {"at least 2"});
}

TEST(GrpoReward, BadInputIsAClearError) {
  const SemanticIds ids = catalogue();
  expect_error([&] { group_rewards(GroupReward::rule, {}, 1, ids); }, {"no candidates"});
  expect_error([&] { group_rewards(GroupReward::rule, {3, 4, 3}, 1, ids); }, {"repeats"});
  expect_error([&] { group_rewards(GroupReward::sid_prefix, {3, 21}, 1, ids); }, {"candidate item 21"});
  expect_error([] { group_reward_from_name("ndcg"); }, {"unknown GRPO reward 'ndcg'", "ranking"});
  EXPECT_EQ(group_reward_from_name("sid_prefix"), GroupReward::sid_prefix);
}
