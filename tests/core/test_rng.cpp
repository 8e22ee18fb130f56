// Philox streams: reproducible per seed, independent of the thread count.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>

#include "recgrad.h"

using namespace recgrad;

TEST(Rng, PhiloxKnownAnswer) {
  // Known-answer vector of Philox4x32-10 (Random123 kat_vectors): counter 0, key 0.
  const auto words = philox4x32(0, 0, 0);
  EXPECT_EQ(words[0], 0x6627e8d5u);
  EXPECT_EQ(words[1], 0xe169c58du);
  EXPECT_EQ(words[2], 0xbc57ac4cu);
  EXPECT_EQ(words[3], 0x9b00dbd8u);
}

TEST(Rng, SameSeedSameNumbersWhateverTheThreadCount) {
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  manual_seed(42);
  const auto serial = randn({300000}).to_vector<float>();
  omp_set_num_threads(2);
  manual_seed(42);
  const auto parallel = randn({300000}).to_vector<float>();
  omp_set_num_threads(threads);
  EXPECT_EQ(serial, parallel);
  manual_seed(43);
  EXPECT_NE(randn({8}).to_vector<float>(), std::vector<float>(serial.begin(), serial.begin() + 8));
}

TEST(Rng, ConsecutiveDrawsDiffer) {
  manual_seed(1);
  const auto a = rand({16}).to_vector<float>();
  const auto b = rand({16}).to_vector<float>();
  EXPECT_NE(a, b);
}

TEST(Rng, DistributionMoments) {
  manual_seed(7);
  const auto normal = randn({200000}, {DType::f64}).to_vector<double>();
  double mean = 0, sq = 0;
  for (double v : normal) mean += v, sq += v * v;
  mean /= normal.size();
  const double var = sq / normal.size() - mean * mean;
  EXPECT_NEAR(mean, 0.0, 0.01);
  EXPECT_NEAR(var, 1.0, 0.02);
  const auto uniform = rand({200000}, -2.0, 3.0).to_vector<float>();
  double umean = 0;
  for (float v : uniform) {
    ASSERT_GE(v, -2.0f);
    ASSERT_LT(v, 3.0f);
    umean += v;
  }
  EXPECT_NEAR(umean / uniform.size(), 0.5, 0.02);
  const auto ints = randint(3, 7, {10000}).to_vector<std::int64_t>();
  std::vector<int> counts(4, 0);
  for (auto v : ints) {
    ASSERT_GE(v, 3);
    ASSERT_LT(v, 7);
    ++counts[v - 3];
  }
  for (int c : counts) EXPECT_NEAR(c, 2500, 200);
}

TEST(Rng, ExplicitGeneratorIsIndependentOfDefault) {
  Generator g1(5), g2(5);
  manual_seed(0);
  const auto a = randn({4}, {}, &g1).to_vector<float>();
  (void)randn({100});
  const auto b = randn({4}, {}, &g2).to_vector<float>();
  EXPECT_EQ(a, b);
}

TEST(Factory, CreationAndErrors) {
  EXPECT_EQ(arange(0, 1, 0.25).to_vector<float>(), (std::vector<float>{0, 0.25, 0.5, 0.75}));
  EXPECT_EQ(full({2}, 3.5, {DType::f64}).to_vector<double>(), (std::vector<double>{3.5, 3.5}));
  EXPECT_EQ(zeros({0, 3}).numel(), 0);
  EXPECT_THROW(from_vector<float>({1, 2, 3}, {2, 2}), Error);
  EXPECT_THROW(zeros({-1}), Error);
  EXPECT_THROW(randint(3, 3, {2}), Error);
  EXPECT_THROW(Tensor::empty({2}, DType::f32, Device::cuda()), Error);
}
