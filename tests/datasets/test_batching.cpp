// Batching: left padding, truncation, masks, per-position next items, seeded shuffles, epoch coverage.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "datasets/batching.h"
#include "datasets/synthetic.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::datasets;
using recgrad::testing::expect_error;

namespace {

Split small_split() {
  Split split;
  const std::vector<ItemId> a = {5, 6, 7}, b = {}, c = {1, 2, 3, 4, 5, 6};
  split.add_row(3, a, 8);
  split.add_row(1, b, 2);
  split.add_row(2, c, 9);
  return split;
}

template <typename T>
std::vector<T> values(const Tensor& t) {
  return t.to_vector<T>();
}

}  // namespace

TEST(Batching, LeftPadsTruncatesAndMasks) {
  const Split split = small_split();
  BatchOptions options;
  options.max_length = 4;
  const Batch batch = make_batch(split, {0, 1, 2}, options);
  ASSERT_EQ(batch.items.shape(), (Shape{3, 4}));
  EXPECT_EQ(batch.items.dtype(), DType::i64);
  EXPECT_EQ(batch.padding_mask.dtype(), DType::b8);
  EXPECT_EQ(values<std::int64_t>(batch.items), (std::vector<std::int64_t>{0, 5, 6, 7,  //
                                                                          0, 0, 0, 0,  //
                                                                          3, 4, 5, 6}));
  EXPECT_EQ(values<int>(batch.padding_mask), (std::vector<int>{1, 0, 0, 0,  //
                                                               1, 1, 1, 1,  //
                                                               0, 0, 0, 0}));
  EXPECT_EQ(values<std::int64_t>(batch.next_items), (std::vector<std::int64_t>{0, 6, 7, 8,  //
                                                                               0, 0, 0, 0,  //
                                                                               4, 5, 6, 9}));
  EXPECT_EQ(values<std::int64_t>(batch.targets), (std::vector<std::int64_t>{8, 2, 9}));
  EXPECT_EQ(values<std::int64_t>(batch.users), (std::vector<std::int64_t>{3, 1, 2}));
  EXPECT_EQ(batch.size(), 3);

  // Rows in any order, and a length that needs no truncation.
  options.max_length = 7;
  const Batch wide = make_batch(split, {2, 0}, options);
  EXPECT_EQ(values<std::int64_t>(wide.items), (std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6,  //
                                                                         0, 0, 0, 0, 5, 6, 7}));
  EXPECT_EQ(wide.rows, (std::vector<std::int64_t>{2, 0}));
}

TEST(Batching, RejectsBadOptionsAndRows) {
  const Split split = small_split();
  BatchOptions options;
  options.batch_size = 0;
  expect_error([&] { EpochBatches(split, options); }, {"batch_size", ">= 1"});
  options = {};
  options.max_length = 0;
  expect_error([&] { make_batch(split, {0}, options); }, {"max_length"});
  options = {};
  expect_error([&] { make_batch(split, {0, 3}, options); }, {"row 3", "0..2"});
  expect_error([&] { EpochBatches(split, options).batch(1); }, {"batch 1", "0..0"});
}

TEST(Batching, ShuffleIsAPermutationFixedBySeedAndEpoch) {
  const std::vector<std::int64_t> a = shuffled_rows(1000, 42, 0);
  std::vector<std::int64_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::int64_t> identity(1000);
  std::iota(identity.begin(), identity.end(), 0);
  EXPECT_EQ(sorted, identity);
  EXPECT_NE(a, identity);
  EXPECT_EQ(shuffled_rows(1000, 42, 0), a);
  EXPECT_NE(shuffled_rows(1000, 42, 1), a);
  EXPECT_NE(shuffled_rows(1000, 43, 0), a);
  EXPECT_TRUE(shuffled_rows(0, 1, 0).empty());
  // Every position is about equally likely to receive row 0 (a fair shuffle): 4000 shuffles of 4 rows.
  std::vector<int> where_zero(4, 0);
  for (int e = 0; e < 4000; ++e) {
    const auto order = shuffled_rows(4, 7, e);
    ++where_zero[static_cast<std::size_t>(std::find(order.begin(), order.end(), 0) - order.begin())];
  }
  for (int count : where_zero) EXPECT_NEAR(count, 1000, 120);
}

TEST(Batching, AnEpochVisitsEveryRowOnce) {
  SyntheticConfig config;
  config.num_users = 300;
  config.num_items = 200;
  config.num_clusters = 5;
  const SequenceDataset dataset = generate_synthetic(config).dataset;
  const Split& train = dataset.train;
  BatchOptions options;
  options.batch_size = 64;
  options.max_length = 10;
  options.seed = 5;
  const EpochBatches epoch(train, options, 3);
  const std::int64_t rows = static_cast<std::int64_t>(train.size());
  ASSERT_EQ(epoch.size(), (rows + 63) / 64);
  std::multiset<std::int64_t> seen;
  std::int64_t batches = 0;
  for (const Batch& batch : epoch) {
    ++batches;
    EXPECT_EQ(batch.size(), batches < epoch.size() ? 64 : rows - 64 * (epoch.size() - 1));
    const auto targets = values<std::int64_t>(batch.targets);
    for (std::int64_t i = 0; i < batch.size(); ++i) {
      const std::int64_t r = batch.rows[static_cast<std::size_t>(i)];
      seen.insert(r);
      EXPECT_EQ(targets[static_cast<std::size_t>(i)], train.targets[static_cast<std::size_t>(r)]);
    }
  }
  EXPECT_EQ(batches, epoch.size());
  EXPECT_EQ(static_cast<std::int64_t>(seen.size()), rows);
  EXPECT_EQ(static_cast<std::int64_t>(std::set<std::int64_t>(seen.begin(), seen.end()).size()), rows);
  EXPECT_EQ(epoch.order(), shuffled_rows(rows, 5, 3));

  options.drop_last = true;
  EXPECT_EQ(EpochBatches(train, options).size(), rows / 64);
  options.shuffle = false;
  const EpochBatches ordered(train, options);
  EXPECT_EQ(ordered.batch(1).rows.front(), 64);
}
