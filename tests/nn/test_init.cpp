// nn::init: bounds and statistics of each initialiser, fans, determinism, errors.
#include <gtest/gtest.h>

#include <cmath>

#include "nn/init.h"
#include "nn_test_util.h"
#include "recgrad.h"

using namespace recgrad;
using namespace recgrad::nn;
using namespace recgrad::nn::testing;

namespace {

struct Stats {
  double min, max, mean, var;
};

Stats stats_of(const Tensor& t) {
  const std::vector<double> v = t.to_vector<double>();
  Stats s{v[0], v[0], 0.0, 0.0};
  for (double x : v) {
    s.min = std::min(s.min, x);
    s.max = std::max(s.max, x);
    s.mean += x;
  }
  s.mean /= static_cast<double>(v.size());
  for (double x : v) s.var += (x - s.mean) * (x - s.mean);
  s.var /= static_cast<double>(v.size());
  return s;
}

}  // namespace

TEST(Init, UniformStaysInRangeWithTheRightMean) {
  manual_seed(1);
  Tensor t = empty({400, 250});
  init::uniform_(t, -0.3, 0.7);
  const Stats s = stats_of(t);
  EXPECT_GE(s.min, -0.3);
  EXPECT_LT(s.max, 0.7);
  EXPECT_LT(s.min, -0.29);
  EXPECT_GT(s.max, 0.69);
  EXPECT_NEAR(s.mean, 0.2, 0.005);
  EXPECT_NEAR(s.var, 1.0 / 12.0, 0.002);
}

TEST(Init, NormalHasTheRequestedMeanAndStd) {
  manual_seed(2);
  Tensor t = empty({100000}, {DType::f64});
  init::normal_(t, 2.0, 3.0);
  const Stats s = stats_of(t);
  EXPECT_NEAR(s.mean, 2.0, 0.05);
  EXPECT_NEAR(std::sqrt(s.var), 3.0, 0.05);
}

TEST(Init, ConstantsFillNonContiguousViews) {
  Tensor t = zeros({3, 4});
  init::ones_(transpose(t, 0, 1));
  EXPECT_EQ(t.to_vector<float>(), std::vector<float>(12, 1.0f));
  init::constant_(select(t, 0, 1), 5.0);
  EXPECT_EQ(t.to_vector<float>()[5], 5.0f);
  init::zeros_(t);
  EXPECT_EQ(t.to_vector<float>(), std::vector<float>(12, 0.0f));
}

TEST(Init, FansCountTheReceptiveField) {
  const init::Fans conv = init::compute_fans(empty({8, 4, 3, 3}));
  EXPECT_EQ(conv.fan_in, 36);
  EXPECT_EQ(conv.fan_out, 72);
  const init::Fans matrix = init::compute_fans(empty({5, 7}));
  EXPECT_EQ(matrix.fan_in, 7);
  EXPECT_EQ(matrix.fan_out, 5);
  EXPECT_NE(message_of([] { init::compute_fans(empty({5})); }).find("[5]"), std::string::npos);
}

TEST(Init, XavierAndKaimingBounds) {
  manual_seed(3);
  Tensor w = empty({200, 300});
  init::xavier_uniform_(w, 2.0);
  double bound = 2.0 * std::sqrt(6.0 / 500.0);
  Stats s = stats_of(w);
  EXPECT_LE(std::max(-s.min, s.max), bound);
  EXPECT_GT(std::max(-s.min, s.max), 0.99 * bound);
  EXPECT_NEAR(s.var, bound * bound / 3.0, 0.03 * bound * bound / 3.0);

  init::kaiming_uniform_(w);  // ReLU gain sqrt(2), fan_in 300
  bound = std::sqrt(2.0) * std::sqrt(3.0 / 300.0);
  s = stats_of(w);
  EXPECT_LE(std::max(-s.min, s.max), bound);
  EXPECT_GT(std::max(-s.min, s.max), 0.99 * bound);

  init::kaiming_uniform_(w, std::sqrt(5.0), init::FanMode::FanOut);  // reduces to 1/sqrt(fan_out)
  bound = 1.0 / std::sqrt(200.0);
  s = stats_of(w);
  EXPECT_LE(std::max(-s.min, s.max), bound);
  EXPECT_GT(std::max(-s.min, s.max), 0.99 * bound);
}

TEST(Init, SeedsAndGeneratorsMakeItDeterministic) {
  Tensor a = empty({64}), b = empty({64}), c = empty({64});
  manual_seed(9);
  init::normal_(a);
  manual_seed(9);
  init::normal_(b);
  EXPECT_TRUE(bit_equal(a, b));
  init::normal_(c);  // the default stream moved on
  EXPECT_FALSE(bit_equal(b, c));
  Generator g1(77), g2(77);
  init::uniform_(a, 0, 1, &g1);
  init::uniform_(b, 0, 1, &g2);
  EXPECT_TRUE(bit_equal(a, b));
}

TEST(Init, RunsWithoutRecordingAGraph) {
  Tensor p = zeros({3, 3}).requires_grad_();
  init::xavier_uniform_(p);
  init::normal_(p);
  EXPECT_TRUE(p.is_leaf());
  EXPECT_TRUE(p.requires_grad());
}

TEST(Init, RejectsBadArguments) {
  EXPECT_NE(message_of([] { init::uniform_(zeros({2}, {DType::i64})); }).find("i64"), std::string::npos);
  EXPECT_THROW(init::normal_(zeros({2}, {DType::i32})), Error);
  EXPECT_THROW(init::uniform_(zeros({2}), 1.0, 0.0), Error);
  EXPECT_THROW(init::normal_(zeros({2}), 0.0, -1.0), Error);
  EXPECT_THROW(init::xavier_uniform_(zeros({2})), Error);
  EXPECT_THROW(init::kaiming_uniform_(zeros({0, 3}), 0.0, init::FanMode::FanOut), Error);
  EXPECT_THROW(init::constant_(Tensor(), 1.0), Error);
}
