// Elementwise math (exp, log, sqrt, rsqrt, abs, square, pow, clamp, maximum,
// minimum), comparisons and selection (where, masked_fill): forward values,
// gradients (gradcheck in f64, with broadcasting and transposed inputs) and
// error messages.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "recgrad.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::testing;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A leaf f64 tensor with uniform values in [low, high).
Tensor uniform64(const Shape& shape, double low, double high) {
  return rand(shape, low, high, {DType::f64}).requires_grad_();
}

// A non-contiguous leaf: the transpose of a [cols, rows] uniform tensor.
Tensor transposed_uniform64(std::int64_t rows, std::int64_t cols, double low, double high) {
  Tensor t = transpose(rand({cols, rows}, low, high, {DType::f64}), 0, 1).requires_grad_();
  EXPECT_FALSE(t.is_contiguous());
  return t;
}

// Values in [low, high) whose magnitude is at least `gap` (keeps |x| and sign(x) smooth).
Tensor away_from_zero64(const Shape& shape, double gap, double high) {
  NoGradGuard no_grad;
  Tensor magnitude = rand(shape, gap, high, {DType::f64});
  Tensor sign =
      where(lt(rand(shape, 0, 1, {DType::f64}), 0.5), full(shape, -1.0, {DType::f64}), full(shape, 1.0, {DType::f64}));
  return mul(magnitude, sign).requires_grad_();
}

void expect_near_all(const Tensor& actual, const std::vector<double>& expected, double tolerance) {
  const std::vector<double> values = actual.to_vector<double>();
  ASSERT_EQ(values.size(), expected.size());
  for (std::size_t i = 0; i < values.size(); ++i) EXPECT_NEAR(values[i], expected[i], tolerance) << "element " << i;
}

}  // namespace

// ---- unary math ----

TEST(Elementwise, UnaryForwardValues) {
  const Tensor x = from_vector<double>({0.25, 1.0, 4.0}, {3});
  expect_near_all(exp(x), {std::exp(0.25), std::exp(1.0), std::exp(4.0)}, 1e-15);
  expect_near_all(log(x), {std::log(0.25), 0.0, std::log(4.0)}, 1e-15);
  expect_near_all(sqrt(x), {0.5, 1.0, 2.0}, 1e-15);
  expect_near_all(rsqrt(x), {2.0, 1.0, 0.5}, 1e-15);
  expect_near_all(square(x), {0.0625, 1.0, 16.0}, 1e-15);
  expect_near_all(abs(from_vector<double>({-2.5, 0.0, 3.0})), {2.5, 0.0, 3.0}, 0.0);
  EXPECT_EQ(abs(from_vector<std::int64_t>({-3, 4})).to_vector<std::int64_t>(), (std::vector<std::int64_t>{3, 4}));
  EXPECT_EQ(square(from_vector<std::int32_t>({-3, 4})).to_vector<std::int32_t>(), (std::vector<std::int32_t>{9, 16}));
}

TEST(Elementwise, ExpFloatMatchesDouble) {
  // f32 exp is a vectorised polynomial; it must stay within a few ulp of the exact value.
  const Tensor x64 = arange(-87.0, 88.0, 0.0137, {DType::f64});  // normal (non-denormal) results
  const Tensor x32 = to_dtype(x64, DType::f32);
  const std::vector<float> fast = exp(x32).to_vector<float>();
  const std::vector<float> inputs = x32.to_vector<float>();
  double worst = 0.0;
  for (std::size_t i = 0; i < fast.size(); ++i) {
    const double exact = std::exp(static_cast<double>(inputs[i]));
    worst = std::max(worst, std::abs(fast[i] - exact) / exact);
  }
  EXPECT_LT(worst, 3e-7);
  const std::vector<float> edges =
      exp(from_vector<float>({-1000.0f, -std::numeric_limits<float>::infinity(), 89.0f,
                              std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()}))
          .to_vector<float>();
  EXPECT_EQ(edges[0], 0.0f);
  EXPECT_EQ(edges[1], 0.0f);
  EXPECT_TRUE(std::isinf(edges[2]));
  EXPECT_TRUE(std::isinf(edges[3]));
  EXPECT_TRUE(std::isnan(edges[4]));
  EXPECT_NEAR(exp(from_vector<float>({-100.0f})).item<double>(), std::exp(-100.0), 3e-45);  // a denormal
}

TEST(Elementwise, GradcheckUnary) {
  manual_seed(1);
  const auto unary = [](Tensor (*op)(const Tensor&)) {
    return [op](const std::vector<Tensor>& in) { return op(in[0]); };
  };
  expect_gradcheck(unary(exp), {uniform64({3, 4}, -2, 2)});
  expect_gradcheck(unary(exp), {transposed_uniform64(3, 4, -2, 2)});
  expect_gradcheck(unary(log), {uniform64({3, 4}, 0.5, 3)});
  expect_gradcheck(unary(log), {transposed_uniform64(3, 4, 0.5, 3)});
  expect_gradcheck(unary(sqrt), {uniform64({3, 4}, 0.5, 3)});
  expect_gradcheck(unary(sqrt), {transposed_uniform64(3, 4, 0.5, 3)});
  expect_gradcheck(unary(rsqrt), {uniform64({3, 4}, 0.5, 3)});
  expect_gradcheck(unary(rsqrt), {transposed_uniform64(3, 4, 0.5, 3)});
  expect_gradcheck(unary(abs), {away_from_zero64({3, 4}, 0.1, 2)});
  expect_gradcheck(unary(square), {uniform64({3, 4}, -2, 2)});
  expect_gradcheck(unary(square), {transposed_uniform64(3, 4, -2, 2)});
}

TEST(Elementwise, AbsGradientAtZeroIsZero) {
  Tensor x = from_vector<double>({-2, 0, 3}).requires_grad_();
  sum(abs(x)).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{-1, 0, 1}));
}

// ---- pow ----

TEST(Elementwise, PowScalarValues) {
  const Tensor x = from_vector<double>({0.25, 2.0, 9.0});
  expect_near_all(pow(x, 2.0), {0.0625, 4.0, 81.0}, 1e-14);
  expect_near_all(pow(x, 3.0), {0.015625, 8.0, 729.0}, 1e-12);
  expect_near_all(pow(x, 0.5), {0.5, std::sqrt(2.0), 3.0}, 1e-15);
  expect_near_all(pow(x, -0.5), {2.0, 1 / std::sqrt(2.0), 1.0 / 3.0}, 1e-15);
  expect_near_all(pow(x, -1.0), {4.0, 0.5, 1.0 / 9.0}, 1e-15);
  expect_near_all(pow(x, 0.0), {1.0, 1.0, 1.0}, 0.0);
  expect_near_all(pow(x, 1.0), {0.25, 2.0, 9.0}, 0.0);
  expect_near_all(pow(x, 1.7), {std::pow(0.25, 1.7), std::pow(2.0, 1.7), std::pow(9.0, 1.7)}, 1e-13);
}

TEST(Elementwise, GradcheckPowScalar) {
  manual_seed(2);
  for (double exponent : {0.0, 1.0, 2.0, 3.0, 0.5, -0.5, -1.0, 1.7, -2.3}) {
    SCOPED_TRACE(exponent);
    expect_gradcheck([exponent](const std::vector<Tensor>& in) { return pow(in[0], exponent); },
                     {uniform64({3, 4}, 0.5, 2)});
    expect_gradcheck([exponent](const std::vector<Tensor>& in) { return pow(in[0], exponent); },
                     {transposed_uniform64(3, 4, 0.5, 2)});
  }
}

TEST(Elementwise, GradcheckPowTensorBroadcast) {
  manual_seed(3);
  const auto fn = [](const std::vector<Tensor>& in) { return pow(in[0], in[1]); };
  expect_gradcheck(fn, {uniform64({3, 4}, 0.5, 2), uniform64({4}, -1.5, 2.5)});
  expect_gradcheck(fn, {uniform64({3, 1}, 0.5, 2), transposed_uniform64(3, 4, -1.5, 2.5)});
  expect_gradcheck(fn, {transposed_uniform64(2, 3, 0.5, 2), uniform64({2, 1}, -1, 2)});
}

TEST(Elementwise, PowTensorGradientAtZeroBase) {
  // d(x^e)/de = x^e ln x is 0 (not NaN) at x = 0 for e >= 0; d/dx is 0 where e = 0.
  Tensor x = from_vector<double>({0.0, 0.0, 2.0}).requires_grad_();
  Tensor e = from_vector<double>({2.0, 0.0, 3.0}).requires_grad_();
  sum(pow(x, e)).backward();
  expect_near_all(x.grad(), {0.0, 0.0, 12.0}, 1e-12);
  expect_near_all(e.grad(), {0.0, 0.0, 8.0 * std::log(2.0)}, 1e-12);
}

// ---- clamp ----

TEST(Elementwise, ClampValues) {
  const Tensor x = from_vector<double>({-3, -1, 0.5, 2, 7, kNaN});
  const std::vector<double> both = clamp(x, -1.5, 2.0).to_vector<double>();
  EXPECT_EQ(std::vector<double>(both.begin(), both.end() - 1), (std::vector<double>{-1.5, -1, 0.5, 2, 2}));
  EXPECT_TRUE(std::isnan(both.back()));
  EXPECT_EQ(clamp(x, 0.0, kInf).to_vector<double>()[4], 7.0);
  EXPECT_EQ(clamp(x, -kInf, 0.0).to_vector<double>()[0], -3.0);
  EXPECT_EQ(clamp(from_vector<std::int64_t>({-5, 0, 5}), -kInf, 2.5).to_vector<std::int64_t>(),
            (std::vector<std::int64_t>{-5, 0, 2}));
  EXPECT_EQ(clamp(from_vector<std::int32_t>({-5, 0, 5}), -0.5, kInf).to_vector<std::int32_t>(),
            (std::vector<std::int32_t>{0, 0, 5}));
}

TEST(Elementwise, GradcheckClamp) {
  manual_seed(4);
  // Values within 0.05 of a bound would make the finite difference straddle it.
  Tensor x = from_vector<double>({-2.0, -0.7, -0.2, 0.3, 0.9, 1.6, -1.3, 0.45}, {2, 4}).requires_grad_();
  expect_gradcheck([](const std::vector<Tensor>& in) { return clamp(in[0], -1.0, 1.0); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& in) { return clamp(in[0], 0.0, kInf); }, {x});
  Tensor xt = transpose(from_vector<double>({-2.0, -0.7, -0.2, 0.3, 0.9, 1.6}, {2, 3}), 0, 1).requires_grad_();
  expect_gradcheck([](const std::vector<Tensor>& in) { return clamp(in[0], -kInf, 0.5); }, {xt});
}

TEST(Elementwise, ClampGradientIncludesBounds) {
  Tensor x = from_vector<double>({-2, -1, 0, 1, 2}).requires_grad_();
  sum(clamp(x, -1.0, 1.0)).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0, 1, 1, 1, 0}));
}

// ---- maximum / minimum ----

TEST(Elementwise, MaximumMinimumValues) {
  const Tensor a = from_vector<double>({1, 5, 3, kNaN}, {4});
  const Tensor b = from_vector<double>({2, 4, 3, 0}, {4});
  const std::vector<double> hi = maximum(a, b).to_vector<double>();
  const std::vector<double> lo = minimum(a, b).to_vector<double>();
  EXPECT_EQ(std::vector<double>(hi.begin(), hi.begin() + 3), (std::vector<double>{2, 5, 3}));
  EXPECT_EQ(std::vector<double>(lo.begin(), lo.begin() + 3), (std::vector<double>{1, 4, 3}));
  EXPECT_TRUE(std::isnan(hi[3]));
  EXPECT_TRUE(std::isnan(lo[3]));
  EXPECT_TRUE(std::isnan(maximum(b, a).to_vector<double>()[3]));
  EXPECT_EQ(maximum(from_vector<std::int64_t>({1, 7}, {2, 1}), from_vector<std::int64_t>({3, 4}, {2}))
                .to_vector<std::int64_t>(),
            (std::vector<std::int64_t>{3, 4, 7, 7}));
}

TEST(Elementwise, GradcheckMaximumMinimumBroadcast) {
  manual_seed(5);
  const auto hi = [](const std::vector<Tensor>& in) { return maximum(in[0], in[1]); };
  const auto lo = [](const std::vector<Tensor>& in) { return minimum(in[0], in[1]); };
  // Continuous random values never tie, so both functions are smooth at the sample.
  expect_gradcheck(hi, {uniform64({3, 4}, -1, 1), uniform64({4}, -1, 1)});
  expect_gradcheck(lo, {uniform64({3, 4}, -1, 1), uniform64({3, 1}, -1, 1)});
  expect_gradcheck(hi, {transposed_uniform64(3, 4, -1, 1), uniform64({3, 4}, -1, 1)});
  expect_gradcheck(lo, {uniform64({4}, -1, 1), transposed_uniform64(3, 4, -1, 1)});
}

TEST(Elementwise, MaximumTiesSplitTheGradient) {
  Tensor a = from_vector<double>({1, 2, 3}).requires_grad_();
  Tensor b = from_vector<double>({2, 2, 1}).requires_grad_();
  sum(maximum(a, b)).backward();
  EXPECT_EQ(a.grad().to_vector<double>(), (std::vector<double>{0, 0.5, 1}));
  EXPECT_EQ(b.grad().to_vector<double>(), (std::vector<double>{1, 0.5, 0}));
  Tensor c = from_vector<double>({1, 2, 3}).requires_grad_();
  Tensor d = from_vector<double>({2}).requires_grad_();  // broadcast: its gradient sums over the row
  sum(minimum(c, d)).backward();
  EXPECT_EQ(c.grad().to_vector<double>(), (std::vector<double>{1, 0.5, 0}));
  EXPECT_EQ(d.grad().to_vector<double>(), (std::vector<double>{1.5}));
}

// ---- comparisons ----

TEST(Elementwise, ComparisonsBroadcast) {
  const Tensor a = from_vector<float>({1, 2, 3}, {3, 1});
  const Tensor b = from_vector<float>({2, 3}, {2});
  const Tensor less = lt(a, b);
  EXPECT_EQ(less.dtype(), DType::b8);
  EXPECT_EQ(less.shape(), (Shape{3, 2}));
  EXPECT_EQ(less.to_vector<int>(), (std::vector<int>{1, 1, 0, 1, 0, 0}));
  EXPECT_EQ(le(a, b).to_vector<int>(), (std::vector<int>{1, 1, 1, 1, 0, 1}));
  EXPECT_EQ(gt(a, b).to_vector<int>(), (std::vector<int>{0, 0, 0, 0, 1, 0}));
  EXPECT_EQ(ge(a, b).to_vector<int>(), (std::vector<int>{0, 0, 1, 0, 1, 1}));
  EXPECT_EQ(eq(a, b).to_vector<int>(), (std::vector<int>{0, 0, 1, 0, 0, 1}));
  EXPECT_EQ(ne(a, b).to_vector<int>(), (std::vector<int>{1, 1, 0, 1, 1, 0}));
  const Tensor i = from_vector<std::int64_t>({-1, 0, 4});
  EXPECT_EQ(eq(i, from_vector<std::int64_t>({0})).to_vector<int>(), (std::vector<int>{0, 1, 0}));
}

TEST(Elementwise, ComparisonsWithScalar) {
  const Tensor x = from_vector<float>({0.1f, 0.5f, 2.0f});
  // The scalar 0.1 becomes the float 0.1f, so the first element compares equal (as in PyTorch).
  EXPECT_EQ(eq(x, 0.1).to_vector<int>(), (std::vector<int>{1, 0, 0}));
  EXPECT_EQ(ne(x, 0.5).to_vector<int>(), (std::vector<int>{1, 0, 1}));
  EXPECT_EQ(lt(x, 0.5).to_vector<int>(), (std::vector<int>{1, 0, 0}));
  EXPECT_EQ(le(x, 0.5).to_vector<int>(), (std::vector<int>{1, 1, 0}));
  EXPECT_EQ(gt(x, 0.5).to_vector<int>(), (std::vector<int>{0, 0, 1}));
  EXPECT_EQ(ge(x, 0.5).to_vector<int>(), (std::vector<int>{0, 1, 1}));
  EXPECT_EQ(lt(from_vector<std::int64_t>({1, 2, 3}), 2.5).to_vector<int>(), (std::vector<int>{1, 1, 0}));
  const Tensor xt = transpose(from_vector<double>({1, 2, 3, 4}, {2, 2}), 0, 1);  // [[1, 3], [2, 4]]
  EXPECT_EQ(gt(xt, 2.0).to_vector<int>(), (std::vector<int>{0, 1, 0, 1}));
}

TEST(Elementwise, LogicalNot) {
  const Tensor mask = from_vector<bool>({true, false, true});
  EXPECT_EQ(logical_not(mask).to_vector<int>(), (std::vector<int>{0, 1, 0}));
  expect_error([] { logical_not(from_vector<float>({1, 0})); }, {"logical_not", "bool", "f32"});
}

// ---- where / masked_fill ----

TEST(Elementwise, WhereBroadcast) {
  const Tensor condition = from_vector<bool>({true, false}, {2, 1});
  const Tensor a = from_vector<float>({1, 2, 3}, {3});
  const Tensor b = from_vector<float>({-1}, {1});
  const Tensor out = where(condition, a, b);
  EXPECT_EQ(out.shape(), (Shape{2, 3}));
  EXPECT_EQ(out.to_vector<float>(), (std::vector<float>{1, 2, 3, -1, -1, -1}));
}

TEST(Elementwise, GradcheckWhere) {
  manual_seed(6);
  const Tensor condition = lt(rand({3, 1}, 0, 1, {DType::f64}), 0.5);
  const Tensor full_condition =
      from_vector<bool>({true, false, true, true, false, false, true, false, true, false, false, true}, {3, 4});
  expect_gradcheck([condition](const std::vector<Tensor>& in) { return where(condition, in[0], in[1]); },
                   {uniform64({3, 4}, -1, 1), uniform64({4}, -1, 1)});
  expect_gradcheck([full_condition](const std::vector<Tensor>& in) { return where(full_condition, in[0], in[1]); },
                   {transposed_uniform64(3, 4, -1, 1), uniform64({3, 1}, -1, 1)});
}

TEST(Elementwise, WhereGradientGoesToTheChosenBranch) {
  Tensor a = from_vector<double>({1, 2, 3}).requires_grad_();
  Tensor b = from_vector<double>({10}).requires_grad_();
  sum(where(from_vector<bool>({true, false, false}), a, b)).backward();
  EXPECT_EQ(a.grad().to_vector<double>(), (std::vector<double>{1, 0, 0}));
  EXPECT_EQ(b.grad().to_vector<double>(), (std::vector<double>{2}));
}

TEST(Elementwise, MaskedFill) {
  const Tensor x = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor mask = from_vector<bool>({false, true, false}, {3});
  EXPECT_EQ(masked_fill(x, mask, -9.0).to_vector<float>(), (std::vector<float>{1, -9, 3, 4, -9, 6}));
  EXPECT_EQ(masked_fill(transpose(x, 0, 1), from_vector<bool>({true, false}, {2}), 0.0).to_vector<float>(),
            (std::vector<float>{0, 4, 0, 5, 0, 6}));
  EXPECT_EQ(
      masked_fill(from_vector<std::int64_t>({1, 2}), from_vector<bool>({true, false}), 7.0).to_vector<std::int64_t>(),
      (std::vector<std::int64_t>{7, 2}));
}

TEST(Elementwise, GradcheckMaskedFill) {
  manual_seed(7);
  const Tensor mask = from_vector<bool>({true, false, false, true}, {4});
  expect_gradcheck([mask](const std::vector<Tensor>& in) { return masked_fill(in[0], mask, 3.0); },
                   {uniform64({3, 4}, -1, 1)});
  expect_gradcheck([mask](const std::vector<Tensor>& in) { return masked_fill(in[0], mask, -5.0); },
                   {transposed_uniform64(3, 4, -1, 1)});
  Tensor x = from_vector<double>({1, 2, 3, 4}).requires_grad_();
  sum(masked_fill(x, mask, 5.0)).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0, 1, 1, 0}));
}

// ---- large tensors take the parallel, vectorised paths ----

TEST(Elementwise, LargeAndStridedInputsMatchElementByElement) {
  manual_seed(8);
  const Tensor x = rand({300, 257}, 0.1, 3.0, {DType::f32});
  const Tensor xt = transpose(x, 0, 1);
  const std::vector<float> values = x.to_vector<float>();
  const std::vector<float> values_t = xt.to_vector<float>();
  const std::vector<float> logs = log(x).to_vector<float>();
  const std::vector<float> roots_t = sqrt(xt).to_vector<float>();
  for (std::size_t i = 0; i < values.size(); ++i) {
    ASSERT_EQ(logs[i], std::log(values[i])) << i;
    ASSERT_EQ(roots_t[i], std::sqrt(values_t[i])) << i;
  }
}

// ---- errors ----

TEST(Elementwise, Errors) {
  const Tensor f = from_vector<float>({1, 2, 3});
  const Tensor d = from_vector<double>({1, 2, 3});
  const Tensor i = from_vector<std::int64_t>({1, 2, 3});
  expect_error([&] { exp(i); }, {"exp", "i64", "[3]"});
  expect_error([&] { log(i); }, {"log", "i64"});
  expect_error([&] { sqrt(from_vector<bool>({true})); }, {"sqrt", "bool"});
  expect_error([&] { rsqrt(i); }, {"rsqrt", "i64"});
  expect_error([&] { abs(from_vector<bool>({true})); }, {"abs", "bool"});
  expect_error([&] { pow(i, 2.0); }, {"pow", "i64"});
  expect_error([&] { pow(f, d); }, {"pow", "f32", "f64"});
  expect_error([&] { pow(f, from_vector<float>({1, 2})); }, {"pow", "[3]", "[2]"});
  expect_error([&] { clamp(f, 1.0, -1.0); }, {"clamp", "lo", "f32", "[3]"});
  expect_error([&] { clamp(f, kNaN, 1.0); }, {"clamp", "lo"});
  expect_error([&] { clamp(from_vector<bool>({true}), 0.0, 1.0); }, {"clamp", "bool"});
  expect_error([&] { maximum(f, d); }, {"maximum", "f32", "f64"});
  expect_error([&] { minimum(f, from_vector<float>({1, 2})); }, {"minimum", "[3]", "[2]"});
  expect_error([&] { lt(f, d); }, {"lt", "f32", "f64"});
  expect_error([&] { eq(f, from_vector<float>({1, 2})); }, {"eq", "[3]", "[2]"});
  expect_error([&] { where(f, f, f); }, {"where", "condition", "bool", "f32"});
  expect_error([&] { where(from_vector<bool>({true, false, true}), f, d); }, {"where", "f32", "f64"});
  expect_error([&] { where(from_vector<bool>({true, false}), f, f); }, {"where", "[2]", "[3]"});
  expect_error([&] { masked_fill(f, from_vector<float>({1, 0, 1}), 0.0); }, {"masked_fill", "mask", "bool", "f32"});
  expect_error([&] { masked_fill(f, from_vector<bool>({true, false}), 0.0); }, {"masked_fill", "[2]", "[3]"});
  // A mask may broadcast into x, but must not enlarge it.
  expect_error(
      [&] {
        masked_fill(f, from_vector<bool>({true, false, true, true, false, true}, {2, 3}), 0.0);
      },
      {"masked_fill", "[2, 3]", "[3]"});
}
