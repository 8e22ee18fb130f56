// The synthetic generator: speed, determinism by seed, the split protocols, the latent structure it
// promises (Zipf skew, transitions, clusters, item text), and the metric ceilings documented in
// datasets/synthetic.h (the Bayes-optimal predictor) next to the most-popular floor.
#include <gtest/gtest.h>

#include <chrono>
#include <iomanip>
#include <map>
#include <numeric>
#include <set>

#include "core/factory.h"
#include "datasets/synthetic.h"
#include "recsys/metrics.h"
#include "recsys/popularity.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::datasets;
using recgrad::testing::expect_error;

namespace {

bool same_split(const Split& a, const Split& b) {
  return a.users == b.users && a.targets == b.targets && a.history_offsets == b.history_offsets &&
         a.history_items == b.history_items;
}

bool same_dataset(const SequenceDataset& a, const SequenceDataset& b) {
  if (!same_split(a.train, b.train) || !same_split(a.valid, b.valid) || !same_split(a.test, b.test)) return false;
  for (std::size_t i = 0; i < a.items.size(); ++i)
    if (a.items[i].title != b.items[i].title || a.items[i].semantic_id != b.items[i].semantic_id) return false;
  return true;
}

// The oracle's scores for every row of `split`: P(next | last history item, user's cluster).
Tensor oracle_scores(const SyntheticData& data, const Split& split) {
  const std::size_t columns = static_cast<std::size_t>(data.dataset.num_items) + 1;
  std::vector<double> scores;
  scores.reserve(split.size() * columns);
  for (std::size_t r = 0; r < split.size(); ++r) {
    const auto history = split.history(r);
    const ItemId previous = history.empty() ? kPaddingItem : history.back();
    const std::vector<double> p = data.truth.next_item_distribution(split.users[r], previous);
    scores.insert(scores.end(), p.begin(), p.end());
  }
  return from_vector(scores, {static_cast<std::int64_t>(split.size()), static_cast<std::int64_t>(columns)});
}

Tensor targets_of(const Split& split) {
  return from_vector(std::vector<std::int64_t>(split.targets.begin(), split.targets.end()));
}

}  // namespace

TEST(Synthetic, DefaultIsFastAndSizedAsDocumented) {
  const auto start = std::chrono::steady_clock::now();
  const SyntheticData data = generate_synthetic();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "generate_synthetic() (default): " << seconds * 1e3 << " ms\n";
  EXPECT_LT(seconds, 1.0);
  const DatasetStatistics stats = data.dataset.statistics();
  std::cout << stats << "\n";
  EXPECT_EQ(stats.users, 5000);
  EXPECT_EQ(stats.items, 2000);
  EXPECT_GT(stats.interactions, 55000);
  EXPECT_LT(stats.interactions, 65000);
  EXPECT_LE(stats.sequence_length_max, 50);
  EXPECT_GE(stats.sequence_length_min, 3);
  // Windowed split: one sample per event after a user's first, cut 80/10/10.
  const std::int64_t samples = stats.rows_train + stats.rows_valid + stats.rows_test;
  EXPECT_EQ(samples, stats.interactions - 5000);
  EXPECT_EQ(stats.rows_train, samples * 8 / 10);
  EXPECT_EQ(stats.rows_valid, samples / 10);
  EXPECT_EQ(data.dataset.max_history_length, 10);
}

TEST(Synthetic, DeterministicBySeed) {
  SyntheticConfig config;
  config.num_users = 800;
  config.num_items = 400;
  const SyntheticData a = generate_synthetic(config), b = generate_synthetic(config);
  EXPECT_TRUE(same_dataset(a.dataset, b.dataset));
  EXPECT_EQ(a.truth.successors, b.truth.successors);
  config.seed = 2;
  const SyntheticData c = generate_synthetic(config);
  EXPECT_FALSE(same_split(a.dataset.train, c.dataset.train));
  EXPECT_NE(a.truth.successors, c.truth.successors);
}

TEST(Synthetic, ZipfExponentControlsPopularitySkew) {
  SyntheticConfig config;
  config.num_users = 2000;
  double previous_gini = -1.0;
  for (double exponent : {0.0, 0.8, 1.5}) {
    config.zipf_exponent = exponent;
    const double gini = generate_synthetic(config).dataset.statistics().popularity_gini;
    EXPECT_GT(gini, previous_gini + 0.1) << "exponent " << exponent;
    previous_gini = gini;
  }
}

TEST(Synthetic, SequencesFollowTheLatentModel) {
  const SyntheticData data = generate_synthetic();
  const SyntheticTruth& truth = data.truth;
  // Successors: successors_per_item distinct items of the item's own cluster.
  for (ItemId i = 1; i <= data.dataset.num_items; ++i) {
    const auto& next = truth.successors[static_cast<std::size_t>(i)];
    ASSERT_EQ(next.size(), 3u);
    EXPECT_EQ(std::set<ItemId>(next.begin(), next.end()).size(), 3u);
    for (ItemId j : next) {
      EXPECT_NE(j, i);
      EXPECT_EQ(truth.cluster_of_item[static_cast<std::size_t>(j)], truth.cluster_of_item[static_cast<std::size_t>(i)]);
    }
  }
  // The next-item distributions are distributions.
  for (ItemId previous : {kPaddingItem, ItemId{1}, ItemId{2000}}) {
    const std::vector<double> p = truth.next_item_distribution(17, previous);
    EXPECT_NEAR(std::accumulate(p.begin(), p.end(), 0.0), 1.0, 1e-12);
    EXPECT_EQ(p[0], 0.0);
  }
  // In the train rows the target is a successor of the last history item t = 0.5 of the time, plus the
  // taste and noise draws that land on a successor (successors are drawn by popularity, so they are
  // popular items). A user's sequence drifts: after a noise draw the successors of an item of another
  // cluster carry it along, so the share of targets in the user's own cluster is near the stationary
  // q = (1 - t - g + g / C) / (1 - t) = 0.81 of q' = t q + (1 - t - g) + g / C, a little above it since
  // every sequence starts in the cluster.
  const Split& train = data.dataset.train;
  double successor_hits = 0, cluster_hits = 0;
  for (std::size_t r = 0; r < train.size(); ++r) {
    const ItemId last = train.history(r).back();
    const auto& next = truth.successors[static_cast<std::size_t>(last)];
    successor_hits += std::find(next.begin(), next.end(), train.targets[r]) != next.end();
    cluster_hits += truth.cluster_of_item[static_cast<std::size_t>(train.targets[r])] ==
                    truth.cluster_of_user[static_cast<std::size_t>(train.users[r])];
  }
  const double rows = static_cast<double>(train.size());
  EXPECT_GT(successor_hits / rows, 0.5);
  EXPECT_LT(successor_hits / rows, 0.62);
  EXPECT_GT(cluster_hits / rows, 0.80);
  EXPECT_LT(cluster_hits / rows, 0.87);
  // Items have text and a unique three-token semantic ID; the category names the cluster.
  std::set<std::vector<std::string>> ids;
  for (ItemId i = 1; i <= data.dataset.num_items; ++i) {
    const ItemInfo& info = data.dataset.item(i);
    EXPECT_FALSE(info.title.empty());
    EXPECT_NE(info.title.find(info.categories), std::string::npos);
    ASSERT_EQ(info.semantic_id.size(), 3u);
    EXPECT_EQ(info.semantic_id[0], "<a_" + std::to_string(truth.cluster_of_item[static_cast<std::size_t>(i)]) + ">");
    ids.insert(info.semantic_id);
  }
  EXPECT_EQ(ids.size(), 2000u);
}

TEST(Synthetic, LeaveOneOutHoldsOutEachUsersLastTwoItems) {
  SyntheticConfig config;
  config.num_users = 500;
  config.num_items = 300;
  config.split = SyntheticSplit::LeaveOneOut;
  config.max_history_length = 50;
  const SequenceDataset dataset = generate_synthetic(config).dataset;
  ASSERT_EQ(dataset.valid.size(), 500u);
  ASSERT_EQ(dataset.test.size(), 500u);
  std::map<UserId, std::int64_t> train_rows;
  for (UserId u : dataset.train.users) ++train_rows[u];
  for (std::size_t u = 0; u < 500; ++u) {
    ASSERT_EQ(dataset.valid.users[u], static_cast<UserId>(u));
    ASSERT_EQ(dataset.test.users[u], static_cast<UserId>(u));
    const auto valid_history = dataset.valid.history(u);
    const auto test_history = dataset.test.history(u);
    // The test history is the valid history plus the valid target; the user has one train row per
    // earlier item after the first.
    ASSERT_EQ(test_history.size(), valid_history.size() + 1);
    EXPECT_TRUE(std::equal(valid_history.begin(), valid_history.end(), test_history.begin()));
    EXPECT_EQ(test_history.back(), dataset.valid.targets[u]);
    EXPECT_EQ(train_rows[static_cast<UserId>(u)], static_cast<std::int64_t>(valid_history.size()) - 1);
  }
}

TEST(Synthetic, RejectsBadConfig) {
  SyntheticConfig config;
  config.num_items = 50;
  expect_error([&] { generate_synthetic(config); }, {"num_items = 50", "num_clusters"});
  config = {};
  config.transition_probability = 0.95;
  expect_error([&] { generate_synthetic(config); }, {"noise_probability"});
  config = {};
  config.zipf_exponent = -1;
  expect_error([&] { generate_synthetic(config); }, {"zipf_exponent"});
  config = {};
  config.split = SyntheticSplit::LeaveOneOut;
  config.min_sequence_length = 2;
  expect_error([&] { generate_synthetic(config); }, {"min_sequence_length", "LeaveOneOut"});
}

// The ceilings documented in datasets/synthetic.h: the Bayes-optimal predictor on the default test split,
// and the most-popular floor beside it.
TEST(Synthetic, RejectsConfigsThatOverflowOrCannotFillEverySplit) {
  SyntheticConfig config;
  config.num_clusters = 1 << 30;  // num_clusters * (successors_per_item + 1) overflows 32 bits
  expect_error([&] { generate_synthetic(config); }, {"num_items = 2000", "num_clusters"});
  config = {};
  config.successors_per_item = 2147483647;
  expect_error([&] { generate_synthetic(config); }, {"num_items = 2000", "successors_per_item"});
  config = {};
  config.num_users = 2000000000;  // about 2.4e10 interactions
  expect_error([&] { generate_synthetic(config); }, {"num_users = 2000000000", "interactions"});
  config = {};
  config.num_items = 20000000;
  expect_error([&] { generate_synthetic(config); }, {"num_items = 20000000", "at most"});
  config = {};
  config.max_sequence_length = 2000000000;
  expect_error([&] { generate_synthetic(config); }, {"max_sequence_length = 2000000000", "at most"});
  config = {};
  config.max_history_length = 2000000000;
  expect_error([&] { generate_synthetic(config); }, {"max_history_length = 2000000000", "at most"});
  // Too few samples for a valid and a test row (Windowed cuts at 80% and 90%).
  config = {};
  config.num_users = 2;
  config.min_sequence_length = 2;
  config.mean_sequence_length = 2;
  expect_error([&] { generate_synthetic(config); }, {"num_users = 2", "at least 10"});
  // Leave-one-out with every sequence 3 items long: no train rows.
  config = {};
  config.split = SyntheticSplit::LeaveOneOut;
  config.min_sequence_length = 3;
  config.mean_sequence_length = 3;
  expect_error([&] { generate_synthetic(config); }, {"mean_sequence_length = 3", "train"});
}

TEST(Synthetic, MetricCeilingsOfTheDefaultDataset) {
  const SyntheticData data = generate_synthetic();
  const Split& test = data.dataset.test;
  const recsys::RankingMetrics oracle =
      recsys::evaluate_full_ranking(oracle_scores(data, test), targets_of(test), {kPaddingItem}, {1, 5, 10, 20});
  const recsys::RankingMetrics popular = recsys::MostPopular(data.dataset).evaluate(test, {1, 5, 10, 20});
  std::cout << std::setprecision(6) << "test rows " << test.size() << "\n";
  for (std::int64_t k : {1, 5, 10, 20})
    std::cout << "K=" << k << "  oracle Recall " << oracle.recall(k) << " NDCG " << oracle.ndcg(k)
              << "  | most popular Recall " << popular.recall(k) << " NDCG " << popular.ndcg(k) << "\n";
  std::cout << "MRR oracle " << oracle.mrr << "  most popular " << popular.mrr << "\n";
  // The figures of datasets/synthetic.h. Deterministic for the seed; the tolerance only absorbs
  // last-bit differences of std::log / std::pow between C libraries.
  EXPECT_EQ(test.size(), 5493u);
  const double tolerance = 1e-3;
  EXPECT_NEAR(oracle.recall(1), 0.3100, tolerance);
  EXPECT_NEAR(oracle.recall(5), 0.6834, tolerance);
  EXPECT_NEAR(oracle.recall(10), 0.7535, tolerance);
  EXPECT_NEAR(oracle.recall(20), 0.8121, tolerance);
  EXPECT_NEAR(oracle.ndcg(5), 0.5108, tolerance);
  EXPECT_NEAR(oracle.ndcg(10), 0.5334, tolerance);
  EXPECT_NEAR(oracle.ndcg(20), 0.5483, tolerance);
  EXPECT_NEAR(oracle.mrr, 0.4698, tolerance);
  EXPECT_NEAR(popular.recall(5), 0.1205, tolerance);
  EXPECT_NEAR(popular.recall(10), 0.1948, tolerance);
  EXPECT_NEAR(popular.recall(20), 0.2864, tolerance);
  EXPECT_NEAR(popular.ndcg(10), 0.1045, tolerance);
}
