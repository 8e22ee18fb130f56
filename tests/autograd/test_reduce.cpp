// Reductions: max/min (values and indices), amax/amin, var, norm, logsumexp:
// forward values, gradients (gradcheck in f64) and error messages.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "recgrad.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::testing;

namespace {

Tensor randn64(const Shape& shape) { return randn(shape, {DType::f64}).requires_grad_(); }

}  // namespace

TEST(ReduceMax, ValuesAndFirstIndices) {
  const Tensor x = from_vector<float>({1, 5, 5, 7, 2, 7}, {2, 3});
  EXPECT_EQ(max(x, 1).to_vector<float>(), (std::vector<float>{5, 7}));
  EXPECT_EQ(argmax(x, 1).to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 0}));
  EXPECT_EQ(argmax(x, 1).dtype(), DType::i64);
  EXPECT_EQ(min(x, 0).to_vector<float>(), (std::vector<float>{1, 2, 5}));
  EXPECT_EQ(argmin(x, -1).to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 1}));
  EXPECT_EQ(max(x, 0, true).shape(), (Shape{1, 3}));
  EXPECT_EQ(argmin(x, 0, true).to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 1, 0}));
  const Tensor ints = from_vector<std::int64_t>({3, 9, -2}, {3});
  EXPECT_EQ(max(ints, 0).item<std::int64_t>(), 9);
  EXPECT_EQ(argmin(ints, 0).item<std::int64_t>(), 2);
}

TEST(ReduceMax, NaNWinsLikeTorch) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor x = from_vector<float>({1, nan, 3}, {3});
  EXPECT_TRUE(std::isnan(max(x, 0).item<float>()));
  EXPECT_EQ(argmax(x, 0).item<std::int64_t>(), 1);
  EXPECT_EQ(argmin(x, 0).item<std::int64_t>(), 1);
  EXPECT_TRUE(std::isnan(amax(x).item<float>()));
}

TEST(ReduceMax, GradientGoesToFirstExtremum) {
  const Tensor x = from_vector<double>({1, 5, 5, 4, 2, 2}, {2, 3}).requires_grad_();
  sum(max(x, 1) + min(x, 1)).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{1, 1, 0, 1, 1, 0}));
}

TEST(ReduceMax, Gradcheck) {
  manual_seed(1);
  const Tensor x = randn64({3, 4, 5});
  for (std::int64_t dim : {0, 1, 2, -1}) {
    for (bool keepdim : {false, true}) {
      expect_gradcheck([&](const std::vector<Tensor>& in) { return max(in[0], dim, keepdim); }, {x});
      expect_gradcheck([&](const std::vector<Tensor>& in) { return min(in[0], dim, keepdim); }, {x});
    }
  }
  // Non-contiguous input.
  expect_gradcheck([](const std::vector<Tensor>& in) { return max(transpose(in[0], 0, 2), 1); }, {x});
}

TEST(ReduceMax, Errors) {
  const Tensor x = zeros({2, 3});
  expect_error([&] { max(x, 2); }, {"max", "dimension 2", "rank 2"});
  expect_error([&] { argmin(x, -3); }, {"min", "dimension -3"});
  expect_error([&] { max(zeros({2, 0}), 1); }, {"max", "extent 0", "[2, 0]"});
  expect_error([&] { max(zeros({2}, {DType::b8}), 0); }, {"max", "bool"});
}

TEST(ReduceAmax, ValuesAndTiesShareGradient) {
  const Tensor x = from_vector<double>({1, 3, 3, -4}, {2, 2}).requires_grad_();
  EXPECT_EQ(amax(x).item<double>(), 3);
  EXPECT_EQ(amin(x).item<double>(), -4);
  EXPECT_EQ(amax(x, {0}).to_vector<double>(), (std::vector<double>{3, 3}));
  EXPECT_EQ(amin(x, {1}, true).shape(), (Shape{2, 1}));
  amax(x).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0, 0.5, 0.5, 0}));
}

TEST(ReduceAmax, Gradcheck) {
  manual_seed(2);
  const Tensor x = randn64({3, 4, 2});
  expect_gradcheck([](const std::vector<Tensor>& in) { return amax(in[0]); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& in) { return amin(in[0]); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& in) { return amax(in[0], {0, 2}, true); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& in) { return amin(transpose(in[0], 0, 1), {1}); }, {x});
  expect_error([] { amax(zeros({0})); }, {"amax", "zero elements"});
}

TEST(ReduceVar, ValuesByHand) {
  // mean 2.5, squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5.
  const Tensor x = from_vector<double>({1, 2, 3, 4}, {2, 2});
  EXPECT_DOUBLE_EQ(var(x).item<double>(), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(var(x, {}, 0).item<double>(), 5.0 / 4.0);
  // Rows [1, 2] and [3, 4]: deviations +-0.5, unbiased variance 0.5.
  EXPECT_EQ(var(x, {1}).to_vector<double>(), (std::vector<double>{0.5, 0.5}));
  EXPECT_EQ(var(x, {0}, 1, true).shape(), (Shape{1, 2}));
  expect_error([&] { var(x, {}, -1); }, {"var", "correction"});
  expect_error([] { var(zeros({3}, {DType::i64})); }, {"var", "i64"});
}

TEST(ReduceVar, Gradcheck) {
  manual_seed(3);
  const Tensor x = randn64({3, 4, 5});
  expect_gradcheck([](const std::vector<Tensor>& in) { return var(in[0]); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& in) { return var(in[0], {0, 2}, 0, true); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& in) { return var(in[0], {-1}, 1); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& in) { return var(transpose(in[0], 0, 2), {1, 2}); }, {x});
}

TEST(ReduceNorm, ValuesByHand) {
  const Tensor x = from_vector<double>({3, -4, 0, 0}, {2, 2});
  EXPECT_DOUBLE_EQ(norm(x).item<double>(), 5.0);
  EXPECT_DOUBLE_EQ(norm(x, 1).item<double>(), 7.0);
  EXPECT_DOUBLE_EQ(norm(x, std::numeric_limits<double>::infinity()).item<double>(), 4.0);
  EXPECT_DOUBLE_EQ(norm(x, -std::numeric_limits<double>::infinity()).item<double>(), 0.0);
  EXPECT_DOUBLE_EQ(norm(x, 0).item<double>(), 2.0);
  EXPECT_NEAR(norm(x, 3).item<double>(), std::cbrt(27.0 + 64.0), 1e-12);
  EXPECT_EQ(norm(x, 2, {1}).to_vector<double>(), (std::vector<double>{5, 0}));
  // Gradient of the 2-norm is x / ||x||; a zero row gets a zero gradient.
  const Tensor w = from_vector<double>({3, -4, 0, 0}, {2, 2}).requires_grad_();
  sum(norm(w, 2, {1})).backward();
  EXPECT_EQ(w.grad().to_vector<double>(), (std::vector<double>{0.6, -0.8, 0, 0}));
  // For p < 1, |x|^(p-1) is infinite at 0; such elements get 0 (as in torch).
  const Tensor z = from_vector<double>({4, 0}).requires_grad_();
  norm(z, 0.5).backward();
  EXPECT_EQ(z.grad().to_vector<double>(), (std::vector<double>{1, 0}));
}

TEST(ReduceNorm, Gradcheck) {
  manual_seed(4);
  const Tensor x = randn64({3, 4, 2});
  for (double p : {2.0, 1.0, 3.0, 1.5, std::numeric_limits<double>::infinity()}) {
    expect_gradcheck([p](const std::vector<Tensor>& in) { return norm(in[0], p); }, {x});
    expect_gradcheck([p](const std::vector<Tensor>& in) { return norm(in[0], p, {0, 2}, true); }, {x});
    expect_gradcheck([p](const std::vector<Tensor>& in) { return norm(transpose(in[0], 0, 1), p, {1}); }, {x});
  }
}

TEST(ReduceLogsumexp, StableAndCorrect) {
  const Tensor x = from_vector<float>({1000, 1000, -1000, 0}, {2, 2});
  const std::vector<float> values = logsumexp(x, {1}).to_vector<float>();
  EXPECT_NEAR(values[0], 1000 + std::log(2.0), 1e-3);
  EXPECT_NEAR(values[1], 0.0, 1e-6);
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(logsumexp(from_vector<double>({-inf, -inf}), {0}).item<double>(), -inf);
  const Tensor y = from_vector<double>({0.5, -1, 2, 3, 0, 1}, {2, 3});
  EXPECT_NEAR(logsumexp(y, {0, 1}).item<double>(),
              std::log(std::exp(0.5) + std::exp(-1) + std::exp(2) + std::exp(3) + 1 + std::exp(1)), 1e-12);
  expect_error([&] { logsumexp(y, {2}); }, {"logsumexp", "dimension 2"});
  expect_error([&] { logsumexp(y, {1, -1}); }, {"logsumexp", "twice"});
}

TEST(ReduceLogsumexp, Gradcheck) {
  manual_seed(5);
  const Tensor x = randn64({3, 4, 5});
  expect_gradcheck([](const std::vector<Tensor>& in) { return logsumexp(in[0], {1}); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& in) { return logsumexp(in[0], {0, 2}, true); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& in) { return logsumexp(transpose(in[0], 1, 2), {-1}); }, {x});
}
