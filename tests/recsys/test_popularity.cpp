// The most-popular baseline: counts and ranks on a hand-made dataset, and the test figures on the
// Industrial_and_Scientific release computed independently by tests/fixtures/popularity_reference.py.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "datasets/minionerec.h"
#include "recsys/popularity.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::datasets;
using namespace recgrad::recsys;
using recgrad::testing::expect_error;

namespace {

SequenceDataset tiny_dataset() {
  SequenceDataset dataset;
  dataset.name = "tiny";
  dataset.num_items = 5;
  dataset.num_users = 3;
  dataset.max_history_length = 3;
  dataset.items.resize(6);
  const std::vector<ItemId> a = {1, 2}, b = {2}, c = {3};
  dataset.train.add_row(0, a, 3);
  dataset.train.add_row(1, b, 2);
  dataset.test.add_row(0, a, 2);  // count 3, the most popular: rank 0
  dataset.test.add_row(1, b, 1);  // count 1, tied with item 3: rank 2
  dataset.test.add_row(2, c, 4);  // count 0, tied with item 5: rank 4 (last of 5)
  return dataset;
}

}  // namespace

TEST(MostPopular, CountsTrainHistoriesAndTargets) {
  const MostPopular popular(tiny_dataset());
  EXPECT_EQ(popular.counts(), (std::vector<std::int64_t>{0, 1, 3, 1, 0, 0}));
  EXPECT_EQ(popular.scores().shape(), (Shape{1, 6}));
}

TEST(MostPopular, RanksWithPessimisticTiesThroughTheSharedMetrics) {
  const RankingMetrics m = MostPopular(tiny_dataset()).evaluate(tiny_dataset().test, {1, 3, 10});
  EXPECT_EQ(m.rows, 3);
  EXPECT_DOUBLE_EQ(m.recall(1), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.recall(3), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.recall(10), 1.0);  // K beyond the 5 items
  EXPECT_DOUBLE_EQ(m.ndcg(3), (1.0 + 0.5) / 3.0);
  EXPECT_DOUBLE_EQ(m.ndcg(10), (1.0 + 0.5 + 1.0 / std::log2(6.0)) / 3.0);
  EXPECT_DOUBLE_EQ(m.mrr, (1.0 + 1.0 / 3.0 + 0.2) / 3.0);
}

TEST(MostPopular, RejectsItemsOutsideTheCatalogue) {
  SequenceDataset dataset = tiny_dataset();
  dataset.train.history_items[1] = 9;
  expect_error([&] { MostPopular{dataset}; }, {"train row 0", "item 9", "1..5"});
}

// Reference: python3 tests/fixtures/popularity_reference.py (counts from train histories and targets,
// test targets ranked among all 3,686 items with pessimistic ties).
TEST(MostPopular, IndustrialAndScientificTestFigures) {
  const std::string folder = std::string(RECGRAD_SHARED_DIR) + "/data/amazon/Industrial_and_Scientific";
  if (!std::filesystem::exists(folder)) GTEST_SKIP() << "dataset not found: " << folder;
  const SequenceDataset dataset = load_minionerec(folder);
  ASSERT_EQ(dataset.num_items, 3686);
  ASSERT_EQ(dataset.train.size(), 10393u);
  ASSERT_EQ(dataset.test.size(), 4533u);
  const RankingMetrics m = MostPopular(dataset).evaluate(dataset.test);
  EXPECT_NEAR(m.recall(1), 0.0291197882, 1e-9);
  EXPECT_NEAR(m.recall(5), 0.0498566071, 1e-9);
  EXPECT_NEAR(m.ndcg(5), 0.0409877014, 1e-9);
  EXPECT_NEAR(m.recall(10), 0.0562541363, 1e-9);
  EXPECT_NEAR(m.ndcg(10), 0.0429912947, 1e-9);
  EXPECT_NEAR(m.recall(20), 0.0783145820, 1e-9);
  EXPECT_NEAR(m.ndcg(20), 0.0486413796, 1e-9);
  EXPECT_NEAR(m.mrr, 0.0433461671, 1e-9);
}
