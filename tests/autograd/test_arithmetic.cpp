// Gradchecks of the broadcasting arithmetic, the scalar forms and the basic
// reductions, on broadcast and non-contiguous inputs.
#include <gtest/gtest.h>

#include "recgrad.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::testing;

namespace {
Tensor leaf64(const Shape& shape, double shift = 0.0) {
  return add(randn(shape, {DType::f64}), shift).detach().requires_grad_();
}
}  // namespace

TEST(Arithmetic, BinaryOpsBroadcastInBothDirections) {
  manual_seed(3);
  Tensor a = leaf64({3, 1, 4});
  Tensor b = leaf64({2, 1}, 4.0);  // kept away from 0 for div
  expect_gradcheck([](const std::vector<Tensor>& x) { return add(x[0], x[1]); }, {a, b});
  expect_gradcheck([](const std::vector<Tensor>& x) { return sub(x[0], x[1]); }, {a, b});
  expect_gradcheck([](const std::vector<Tensor>& x) { return mul(x[0], x[1]); }, {a, b});
  expect_gradcheck([](const std::vector<Tensor>& x) { return div(x[0], x[1]); }, {a, b});
  expect_gradcheck([](const std::vector<Tensor>& x) { return div(x[1], x[0] * x[0] + 1.0); }, {a, b});
}

TEST(Arithmetic, NonContiguousOperands) {
  manual_seed(4);
  Tensor base = leaf64({4, 3});
  Tensor other = leaf64({3, 4}, 3.0);
  expect_gradcheck(
      [](const std::vector<Tensor>& x) {
        return mul(transpose(x[0], 0, 1), x[1]) - div(x[1], transpose(x[0], 0, 1) + 9.0);
      },
      {base, other});
}

TEST(Arithmetic, ScalarFormsAndNegation) {
  manual_seed(5);
  Tensor a = leaf64({2, 3}, 3.0);
  expect_gradcheck([](const std::vector<Tensor>& x) { return neg(x[0]); }, {a});
  expect_gradcheck([](const std::vector<Tensor>& x) { return x[0] + 2.5; }, {a});
  expect_gradcheck([](const std::vector<Tensor>& x) { return x[0] * -1.5; }, {a});
  expect_gradcheck([](const std::vector<Tensor>& x) { return 4.0 - x[0]; }, {a});
  expect_gradcheck([](const std::vector<Tensor>& x) { return 2.0 / x[0]; }, {a});
  expect_gradcheck([](const std::vector<Tensor>& x) { return x[0] / 4.0 - 1.0; }, {a});
  EXPECT_EQ((4.0 - from_vector<double>({1, 2})).to_vector<double>(), (std::vector<double>{3, 2}));
  EXPECT_EQ((2.0 / from_vector<double>({4, 8})).to_vector<double>(), (std::vector<double>{0.5, 0.25}));
}

TEST(Arithmetic, SumToInvertsBroadcasting) {
  manual_seed(6);
  Tensor a = leaf64({2, 3, 4});
  expect_gradcheck([](const std::vector<Tensor>& x) { return sum_to(x[0], {3, 1}); }, {a});
  expect_gradcheck([](const std::vector<Tensor>& x) { return sum_to(x[0], {1, 4}); }, {a});
  expect_gradcheck([](const std::vector<Tensor>& x) { return sum_to(x[0], {}); }, {a});
  EXPECT_EQ(sum_to(ones({2, 3}, {DType::f64}), {3}).to_vector<double>(), (std::vector<double>{2, 2, 2}));
  EXPECT_THROW(sum_to(ones({2, 3}), {2, 2, 3}), Error);
}

TEST(Arithmetic, SumAndMeanOverSeveralDims) {
  manual_seed(7);
  Tensor a = leaf64({2, 3, 4});
  expect_gradcheck([](const std::vector<Tensor>& x) { return sum(x[0], {0, 2}); }, {a});
  expect_gradcheck([](const std::vector<Tensor>& x) { return sum(x[0], {-1}, true); }, {a});
  expect_gradcheck([](const std::vector<Tensor>& x) { return sum(permute(x[0], {2, 0, 1}), {1, 2}); }, {a});
  expect_gradcheck([](const std::vector<Tensor>& x) { return mean(x[0]); }, {a});
  expect_gradcheck([](const std::vector<Tensor>& x) { return mean(transpose(x[0], 0, 2), {0, 1}, true); }, {a});
  const Tensor m = reshape(arange(0, 6, 1, {DType::f64}), {2, 3});
  EXPECT_EQ(mean(m, {0}).to_vector<double>(), (std::vector<double>{1.5, 2.5, 3.5}));
  EXPECT_EQ(sum(m, {1}, true).shape(), (Shape{2, 1}));
  EXPECT_THROW(sum(m, {0, 0}), Error);
  EXPECT_THROW(sum(m, {2}), Error);
  EXPECT_THROW(mean(arange(0, 3, 1, {DType::i64})), Error);
}

TEST(Arithmetic, DtypeAndShapeErrorsNameTheOperands) {
  expect_error([] { add(ones({2}), ones({2}, {DType::f64})); }, {"add", "f32", "f64"});
  expect_error([] { mul(ones({2, 3}), ones({4})); }, {"mul", "[2, 3]", "[4]"});
}
