// Ranking metrics: hand-computed ranks and metric values (ties, NaN, excluded items, K beyond the item
// count), ranked lists with repeats and shared semantic IDs, a brute-force cross-check over many chunks,
// and the same ranks from a GPU when there is one.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "core/cuda/runtime.h"
#include "core/factory.h"
#include "core/ops/copy.h"
#include "core/ops/view.h"
#include "recsys/metrics.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::recsys;
using recgrad::testing::expect_error;

namespace {

Tensor scores_of(const std::vector<std::vector<double>>& rows, DType dtype = DType::f32) {
  std::vector<double> flat;
  for (const auto& row : rows) flat.insert(flat.end(), row.begin(), row.end());
  const Tensor t =
      from_vector(flat, {static_cast<std::int64_t>(rows.size()), static_cast<std::int64_t>(rows[0].size())});
  return raw::to_dtype(t, dtype);
}

Tensor ids(const std::vector<std::int64_t>& values) { return from_vector(values); }

// The definition, written out: other eligible items with a score not strictly below the target's.
std::int64_t brute_force_rank(const std::vector<double>& row, std::int64_t target, const std::vector<bool>& excluded) {
  std::int64_t rank = 0;
  for (std::size_t j = 0; j < row.size(); ++j) {
    if (static_cast<std::int64_t>(j) == target || excluded[j]) continue;
    if (!(row[j] < row[static_cast<std::size_t>(target)])) ++rank;
  }
  return rank;
}

}  // namespace

TEST(FullRanking, RanksCountHigherItemsAndTiesPessimistically) {
  //                      item: 0    1    2    3    4
  const Tensor scores = scores_of(
      {{0.1, 0.5, 0.3, 0.5, 0.2}, {0.1, 0.5, 0.3, 0.5, 0.2}, {0.1, 0.5, 0.3, 0.5, 0.2}, {0.1, 0.5, 0.3, 0.5, 0.2}});
  // item 2: items 1 and 3 above -> 2; item 1: tied with 3, which ranks above it -> 1; item 3 likewise -> 1;
  // item 0: everything above -> 4.
  EXPECT_EQ(full_ranking_ranks(scores, ids({2, 1, 3, 0}), {}), (std::vector<std::int64_t>{2, 1, 1, 4}));
}

TEST(FullRanking, ConstantScoresRankEveryTargetLast) {
  const Tensor scores = scores_of({{1, 1, 1, 1, 1, 1}, {0, 0, 0, 0, 0, 0}});
  EXPECT_EQ(full_ranking_ranks(scores, ids({3, 0}), {}), (std::vector<std::int64_t>{5, 5}));
  // Excluding the padding item 0 leaves 5 eligible items: last is rank 4.
  EXPECT_EQ(full_ranking_ranks(scores, ids({3, 5}), {0}), (std::vector<std::int64_t>{4, 4}));
}

TEST(FullRanking, ExcludedItemsNeverCount) {
  // Item 0 (padding) has the best score, item 4 is also excluded; neither may push the target down.
  const Tensor scores = scores_of({{9.0, 0.5, 0.3, 0.5, 0.4}, {9.0, 0.5, 0.3, 0.5, 0.4}});
  EXPECT_EQ(full_ranking_ranks(scores, ids({2, 1}), {}), (std::vector<std::int64_t>{4, 2}));
  EXPECT_EQ(full_ranking_ranks(scores, ids({2, 1}), {0}), (std::vector<std::int64_t>{3, 1}));
  EXPECT_EQ(full_ranking_ranks(scores, ids({2, 1}), {4, 0, 4}), (std::vector<std::int64_t>{2, 1}));
}

TEST(FullRanking, NaNScoresRankAboveTheTargetAndANaNTargetRanksLast) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor scores = scores_of({{0.1, nan, 0.3, 0.2}, {0.1, nan, 0.3, 0.2}});
  EXPECT_EQ(full_ranking_ranks(scores, ids({2, 1}), {}), (std::vector<std::int64_t>{1, 3}));
  const Tensor infinite = scores_of({{-INFINITY, INFINITY, 0.0}});
  EXPECT_EQ(full_ranking_ranks(infinite, ids({1}), {}), (std::vector<std::int64_t>{0}));
  EXPECT_EQ(full_ranking_ranks(infinite, ids({0}), {}), (std::vector<std::int64_t>{2}));
}

TEST(FullRanking, MetricsFromHandComputedRanks) {
  // Ranks 0, 1, 1, 4 (see RanksCountHigherItemsAndTiesPessimistically, f64 this time).
  const Tensor scores = scores_of(
      {{0.1, 0.5, 0.3, 0.5, 0.2}, {0.1, 0.5, 0.3, 0.5, 0.2}, {0.1, 0.5, 0.3, 0.5, 0.2}, {0.1, 0.5, 0.3, 0.5, 0.2}},
      DType::f64);
  const RankingMetrics m = evaluate_full_ranking(scores, ids({1, 3, 2, 0}), {}, {1, 2, 5, 20});
  // ranks: item 1 -> 1, item 3 -> 1, item 2 -> 2, item 0 -> 4
  EXPECT_EQ(m.rows, 4);
  EXPECT_DOUBLE_EQ(m.recall(1), 0.0);
  EXPECT_DOUBLE_EQ(m.recall(2), 0.5);
  EXPECT_DOUBLE_EQ(m.recall(5), 1.0);
  EXPECT_DOUBLE_EQ(m.recall(20), 1.0);  // K larger than the 5 items: every target is a hit
  EXPECT_DOUBLE_EQ(m.ndcg(2), (2.0 / std::log2(3.0)) / 4.0);
  const double ndcg5 = (2.0 / std::log2(3.0) + 1.0 / std::log2(4.0) + 1.0 / std::log2(6.0)) / 4.0;
  EXPECT_DOUBLE_EQ(m.ndcg(5), ndcg5);
  EXPECT_DOUBLE_EQ(m.ndcg(20), ndcg5);
  EXPECT_DOUBLE_EQ(m.mrr, (0.5 + 0.5 + 1.0 / 3.0 + 0.2) / 4.0);
  EXPECT_DOUBLE_EQ(m.at(2).mrr, (0.5 + 0.5) / 4.0);
  expect_error([&] { (void)m.at(10); }, {"K = 10"});
}

TEST(RankingAccumulator, AveragesRanksAndTreatsUnrankedAsMiss) {
  RankingAccumulator acc({1, 5, 10});
  acc.add({0, 1, 2, 4});
  RankingAccumulator other({1, 5, 10});
  other.add(kNotRanked);
  other.add(9);
  acc.merge(other);
  const RankingMetrics m = acc.result();
  EXPECT_EQ(m.rows, 6);
  EXPECT_DOUBLE_EQ(m.recall(1), 1.0 / 6.0);
  EXPECT_DOUBLE_EQ(m.recall(5), 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(m.recall(10), 5.0 / 6.0);
  EXPECT_DOUBLE_EQ(m.ndcg(1), 1.0 / 6.0);
  EXPECT_DOUBLE_EQ(m.ndcg(5), (1.0 + 1.0 / std::log2(3.0) + 0.5 + 1.0 / std::log2(6.0)) / 6.0);
  EXPECT_DOUBLE_EQ(m.ndcg(10), (1.0 + 1.0 / std::log2(3.0) + 0.5 + 1.0 / std::log2(6.0) + 1.0 / std::log2(11.0)) / 6.0);
  EXPECT_DOUBLE_EQ(m.mrr, (1.0 + 0.5 + 1.0 / 3.0 + 0.2 + 0.1) / 6.0);
  EXPECT_EQ(RankingAccumulator().result().rows, 0);
  EXPECT_DOUBLE_EQ(RankingAccumulator().result().recall(10), 0.0);
  expect_error([] { RankingAccumulator bad({0}); }, {"cut-off", ">= 1"});
  expect_error([] { RankingAccumulator({5}).add(-1); }, {">= 0"});
  expect_error([&] { acc.merge(RankingAccumulator({5})); }, {"different cut-offs"});
}

TEST(FullRanking, MatchesBruteForceOverManyChunksWithTies) {
  // 1100 x 4000 scores exceed one chunk (4M scores); integer-valued scores give many ties.
  const std::int64_t rows = 1100, items = 4000;
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> score(0, 50);
  std::uniform_int_distribution<std::int64_t> item(1, items - 1);
  std::vector<double> flat(static_cast<std::size_t>(rows * items));
  for (double& s : flat) s = score(rng);
  std::vector<std::int64_t> targets(static_cast<std::size_t>(rows));
  for (auto& t : targets) t = item(rng);
  const std::vector<std::int64_t> excluded = {0, 17, 3999};
  std::vector<bool> is_excluded(static_cast<std::size_t>(items), false);
  for (std::int64_t e : excluded) is_excluded[static_cast<std::size_t>(e)] = true;
  for (auto& t : targets)
    while (is_excluded[static_cast<std::size_t>(t)]) t = item(rng);

  const Tensor scores = raw::to_dtype(from_vector(flat, {rows, items}), DType::f32);
  const std::vector<std::int64_t> ranks = full_ranking_ranks(scores, from_vector(targets), excluded);
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::vector<double> row(flat.begin() + r * items, flat.begin() + (r + 1) * items);
    ASSERT_EQ(ranks[r], brute_force_rank(row, targets[r], is_excluded)) << "row " << r;
  }
  // i32 targets and a transposed (strided) score matrix give the same ranks.
  const Tensor transposed = raw::transpose(raw::contiguous(raw::transpose(scores, 0, 1)), 0, 1);
  ASSERT_FALSE(transposed.is_contiguous());
  EXPECT_EQ(full_ranking_ranks(transposed, raw::to_dtype(from_vector(targets), DType::i32), excluded), ranks);
}

TEST(FullRanking, BroadcastScoresRowAsOneRankingPerTarget) {
  // One score row expanded over the targets (what the popularity baseline does): a stride-0 view.
  const Tensor row = scores_of({{0.0, 3.0, 1.0, 2.0, 2.0}});
  const Tensor expanded = raw::expand(row, {4, 5});
  EXPECT_EQ(full_ranking_ranks(expanded, ids({1, 3, 4, 2}), {0}), (std::vector<std::int64_t>{0, 2, 2, 3}));
}

TEST(FullRanking, RejectsBadInput) {
  const Tensor scores = scores_of({{0.1, 0.2, 0.3}, {0.1, 0.2, 0.3}});
  expect_error([&] { full_ranking_ranks(scores, ids({1, 3}), {}); }, {"row 1", "target item 3", "[0, 3)"});
  expect_error([&] { full_ranking_ranks(scores, ids({1, -1}), {}); }, {"row 1", "target item -1"});
  expect_error([&] { full_ranking_ranks(scores, ids({0, 1}), {0}); }, {"row 0", "excluded"});
  expect_error([&] { full_ranking_ranks(scores, ids({1}), {}); }, {"targets must be [2]"});
  expect_error([&] { full_ranking_ranks(scores, ids({1, 2}), {5}); }, {"excluded item 5"});
  expect_error([&] { full_ranking_ranks(raw::reshape(scores, {6}), ids({1}), {}); }, {"[rows, items]"});
  expect_error([&] { full_ranking_ranks(raw::to_dtype(scores, DType::i64), ids({1, 2}), {}); }, {"f32 or f64"});
  expect_error([&] { full_ranking_ranks(scores, raw::to_dtype(ids({1, 2}), DType::f32), {}); }, {"i64 or i32"});
  // No rows: no ranks, zero metrics.
  const Tensor empty_scores = zeros({0, 3});
  EXPECT_TRUE(full_ranking_ranks(empty_scores, from_vector(std::vector<std::int64_t>{}), {}).empty());
  EXPECT_EQ(evaluate_full_ranking(empty_scores, from_vector(std::vector<std::int64_t>{}), {}).rows, 0);
}

TEST(RankedLists, ItemMatchDropsRepeatsAndCountsAbsentTargetsAsMisses) {
  const std::vector<std::int64_t> list = {5, 7, 5, 9, 2};
  EXPECT_EQ(rank_in_list(list, 5, ListMatch::item), 0);
  EXPECT_EQ(rank_in_list(list, 9, ListMatch::item), 2);  // the repeated 5 does not count twice
  EXPECT_EQ(rank_in_list(list, 2, ListMatch::item), 3);
  EXPECT_EQ(rank_in_list(list, 4, ListMatch::item), kNotRanked);
  EXPECT_EQ(rank_in_list({}, 4, ListMatch::item), kNotRanked);
}

TEST(RankedLists, SemanticIdMatchHitsOnAnyItemSharingTheTargetsId) {
  // items:                                 0  1  2  3  4  5  6  7
  const std::vector<std::int64_t> groups = {0, 1, 2, 3, 3, 4, 1, 5};  // items 3,4 and 1,6 share a semantic ID
  const std::vector<std::int64_t> list = {1, 6, 4, 2, 5};
  EXPECT_EQ(rank_in_list(list, 3, ListMatch::semantic_id, groups), 1);  // item 4 carries item 3's ID; 6 repeats 1's
  EXPECT_EQ(rank_in_list(list, 3, ListMatch::item, groups), kNotRanked);
  EXPECT_EQ(rank_in_list(list, 6, ListMatch::semantic_id, groups), 0);
  EXPECT_EQ(rank_in_list(list, 6, ListMatch::item, groups), 1);
  EXPECT_EQ(rank_in_list(list, 5, ListMatch::semantic_id, groups), 3);
  EXPECT_EQ(rank_in_list(list, 5, ListMatch::item), 4);
  expect_error([&] { rank_in_list({1, 8}, 6, ListMatch::semantic_id, groups); }, {"listed item 8", "semantic ID"});
  expect_error([&] { rank_in_list(list, 9, ListMatch::semantic_id, groups); }, {"target item 9"});

  const RankingMetrics by_id =
      evaluate_ranked_lists({list, list, {7}}, {3, 5, 0}, ListMatch::semantic_id, groups, {1, 2, 5});
  EXPECT_DOUBLE_EQ(by_id.recall(1), 0.0);
  EXPECT_DOUBLE_EQ(by_id.recall(2), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(by_id.recall(5), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(by_id.ndcg(5), (1.0 / std::log2(3.0) + 1.0 / std::log2(5.0)) / 3.0);
  EXPECT_DOUBLE_EQ(by_id.mrr, (0.5 + 0.25) / 3.0);
  expect_error([&] { evaluate_ranked_lists({list}, {1, 2}, ListMatch::item); }, {"1 ranked lists but 2 targets"});
}

TEST(RankedLists, SemanticIdGroupsNumberDistinctIds) {
  const std::vector<std::string> sids = {"<a_1><b_2>", "<a_3><b_4>", "<a_1><b_2>", "<a_0><b_0>"};
  EXPECT_EQ(semantic_id_groups(sids), (std::vector<std::int64_t>{0, 1, 0, 2}));
}

TEST(FullRanking, SameRanksOnCuda) {
  if (!cuda::cuda_available()) GTEST_SKIP() << "no CUDA device: " << cuda::cuda_unavailable_reason();
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<int> score(0, 20);
  const std::int64_t rows = 300, items = 20000;  // two chunks
  std::vector<float> flat(static_cast<std::size_t>(rows * items));
  for (float& s : flat) s = static_cast<float>(score(rng));
  std::vector<std::int64_t> targets(static_cast<std::size_t>(rows));
  for (std::size_t r = 0; r < targets.size(); ++r) targets[r] = 1 + static_cast<std::int64_t>(r * 61 % (items - 1));
  const Tensor cpu_scores = from_vector(flat, {rows, items});
  const std::vector<std::int64_t> expected = full_ranking_ranks(cpu_scores, from_vector(targets), {0, 5});
  const Tensor gpu_scores = raw::to_device(cpu_scores, Device::cuda());
  EXPECT_EQ(full_ranking_ranks(gpu_scores, from_vector(targets), {0, 5}), expected);
  EXPECT_EQ(full_ranking_ranks(gpu_scores, raw::to_device(from_vector(targets), Device::cuda()), {0, 5}), expected);
}
