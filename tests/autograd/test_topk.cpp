// topk: values and indices (largest/smallest, any dim, ties, NaN), the heap
// and partition paths against a full sort, gradients and errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "recgrad.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::testing;

TEST(TopK, LargestAndSmallest) {
  const Tensor x = from_vector<float>({3, 1, 4, 1, 5, 9, 2, 6}, {2, 4});
  const TopK top = topk(x, 2);
  EXPECT_EQ(top.values.shape(), (Shape{2, 2}));
  EXPECT_EQ(top.values.to_vector<float>(), (std::vector<float>{4, 3, 9, 6}));
  EXPECT_EQ(top.indices.to_vector<std::int64_t>(), (std::vector<std::int64_t>{2, 0, 1, 3}));
  EXPECT_EQ(top.indices.dtype(), DType::i64);
  const TopK bottom = topk(x, 3, 1, false);
  EXPECT_EQ(bottom.values.to_vector<float>(), (std::vector<float>{1, 1, 3, 2, 5, 6}));
  EXPECT_EQ(bottom.indices.to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 3, 0, 2, 0, 3}));
  // Along dim 0: per column, the larger of the two rows.
  const TopK columns = topk(x, 1, 0);
  EXPECT_EQ(columns.values.shape(), (Shape{1, 4}));
  EXPECT_EQ(columns.values.to_vector<float>(), (std::vector<float>{5, 9, 4, 6}));
  EXPECT_EQ(columns.indices.to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 1, 0, 1}));
  // k = 0 and k = size.
  EXPECT_EQ(topk(x, 0).values.shape(), (Shape{2, 0}));
  EXPECT_EQ(topk(x, 4).values.to_vector<float>(), (std::vector<float>{4, 3, 1, 1, 9, 6, 5, 2}));
  // Integers.
  EXPECT_EQ(topk(from_vector<std::int64_t>({7, -3, 12}), 1).values.item<std::int64_t>(), 12);
}

TEST(TopK, TiesKeepIndexOrderAndNaNRanksFirst) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor x = from_vector<float>({2, 5, nan, 5, 1});
  const TopK top = topk(x, 3);
  EXPECT_EQ(top.indices.to_vector<std::int64_t>(), (std::vector<std::int64_t>{2, 1, 3}));
  EXPECT_TRUE(std::isnan(top.values.to_vector<float>()[0]));
  EXPECT_EQ(topk(x, 2, 0, false).indices.to_vector<std::int64_t>(), (std::vector<std::int64_t>{4, 0}));
}

TEST(TopK, HeapAndPartitionPathsMatchFullSort) {
  // Rows of 100 with small k (heap scan) and large k (nth_element), values
  // with many ties (rounded) so the index tie-break is exercised.
  manual_seed(21);
  const std::int64_t rows = 3, n = 100;
  const std::vector<float> data = to_dtype(randint(0, 20, {rows, n}), DType::f32).to_vector<float>();
  const Tensor x = from_vector<float>(data, {rows, n});
  for (bool largest : {true, false}) {
    for (std::int64_t k : {1, 5, 6, 40, 100}) {
      const TopK top = topk(x, k, 1, largest);
      const std::vector<std::int64_t> got = top.indices.to_vector<std::int64_t>();
      const std::vector<float> got_values = top.values.to_vector<float>();
      for (std::int64_t r = 0; r < rows; ++r) {
        std::vector<std::int64_t> order(n);
        std::iota(order.begin(), order.end(), 0);
        const float* row = data.data() + r * n;
        std::stable_sort(order.begin(), order.end(),
                         [&](std::int64_t a, std::int64_t b) { return largest ? row[a] > row[b] : row[a] < row[b]; });
        for (std::int64_t j = 0; j < k; ++j) {
          ASSERT_EQ(got[r * k + j], order[j]) << "largest " << largest << " k " << k << " row " << r << " j " << j;
          ASSERT_EQ(got_values[r * k + j], row[order[j]]);
        }
      }
    }
  }
}

TEST(TopK, RankingScaleEveryRowCorrect) {
  // 64 users x 100k items, k = 100: the ranking workload (heap path, rows
  // split between threads); every row is checked against amax and a count.
  manual_seed(22);
  const Tensor scores = randn({64, 100000});
  const TopK top = topk(scores, 100);
  EXPECT_EQ(top.values.shape(), (Shape{64, 100}));
  const std::vector<float> values = top.values.to_vector<float>();
  const std::vector<float> all = scores.to_vector<float>();
  const std::vector<float> maxima = amax(scores, {1}).to_vector<float>();
  for (std::size_t r = 0; r < 64; ++r) {
    ASSERT_EQ(values[r * 100], maxima[r]) << "row " << r;
    // The 100th value is exceeded by exactly 99 scores of its row.
    const float kth = values[r * 100 + 99];
    EXPECT_EQ(std::count_if(all.begin() + r * 100000, all.begin() + (r + 1) * 100000, [&](float v) { return v > kth; }),
              99);
    for (std::size_t j = 1; j < 100; ++j) ASSERT_GE(values[r * 100 + j - 1], values[r * 100 + j]);
  }
}

TEST(TopK, Gradcheck) {
  manual_seed(23);
  const Tensor x = randn({3, 4, 5}, {DType::f64}).requires_grad_();
  for (std::int64_t dim : {0, 1, 2}) {
    for (bool largest : {true, false}) {
      const GradcheckResult result =
          gradcheck([=](const std::vector<Tensor>& in) { return topk(in[0], 2, dim, largest).values; }, {x});
      EXPECT_TRUE(result.ok) << result.report;
    }
  }
  const GradcheckResult transposed =
      gradcheck([](const std::vector<Tensor>& in) { return topk(transpose(in[0], 0, 2), 3).values; }, {x});
  EXPECT_TRUE(transposed.ok) << transposed.report;
  // The gradient lands on the selected positions only.
  const Tensor w = from_vector<double>({3, 1, 4, 1, 5}).requires_grad_();
  sum(topk(w, 2).values).backward();
  EXPECT_EQ(w.grad().to_vector<double>(), (std::vector<double>{0, 0, 1, 0, 1}));
}

TEST(TopK, Errors) {
  const Tensor x = zeros({2, 3});
  expect_error([&] { topk(x, 4); }, {"topk", "k = 4", "size 3", "[2, 3]"});
  expect_error([&] { topk(x, -1); }, {"topk", "k = -1"});
  expect_error([&] { topk(x, 1, 2); }, {"topk", "dimension 2"});
  expect_error([&] { topk(scalar_tensor(1.0), 1); }, {"topk", "at least one dimension"});
  expect_error([&] { topk(zeros({3}, {DType::b8}), 1); }, {"topk", "bool"});
}
