// Activations (relu, sigmoid, tanh, silu, gelu exact and tanh form): forward
// values against hand-computed numbers, f32 kernels against f64 references,
// gradients (gradcheck in f64 plus the fused f32 backward kernels against f64)
// and error messages.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "core/cpu/vec_math.h"
#include "recgrad.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::testing;

namespace {

Tensor gelu_tanh(const Tensor& x) { return gelu(x, GeluApproximation::Tanh); }
Tensor gelu_exact(const Tensor& x) { return gelu(x); }

using Activation = Tensor (*)(const Tensor&);
struct NamedActivation {
  const char* name;
  Activation fn;
};
const NamedActivation kActivations[] = {{"relu", relu}, {"sigmoid", sigmoid}, {"tanh", tanh},
                                        {"silu", silu}, {"gelu", gelu_exact}, {"gelu_tanh", gelu_tanh}};

// Largest |f32 - f64| / max(|f64|, floor) over the elements.
double worst_relative_error(const Tensor& f32, const Tensor& f64, double floor) {
  const std::vector<double> a = f32.to_vector<double>(), b = f64.to_vector<double>();
  double worst = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, std::abs(a[i] - b[i]) / std::max(std::abs(b[i]), floor));
  }
  return worst;
}

}  // namespace

TEST(Activations, ForwardValues) {
  const Tensor x = from_vector<double>({-1.0, 0.0, 1.0});
  EXPECT_EQ(relu(x).to_vector<double>(), (std::vector<double>{0.0, 0.0, 1.0}));
  const std::vector<double> s = sigmoid(x).to_vector<double>();
  EXPECT_NEAR(s[0], 0.2689414213699951, 1e-15);
  EXPECT_EQ(s[1], 0.5);
  EXPECT_NEAR(s[2], 0.7310585786300049, 1e-15);
  const std::vector<double> t = tanh(x).to_vector<double>();
  EXPECT_NEAR(t[0], -0.7615941559557649, 1e-15);
  EXPECT_EQ(t[1], 0.0);
  EXPECT_NEAR(t[2], 0.7615941559557649, 1e-15);
  const std::vector<double> w = silu(x).to_vector<double>();
  EXPECT_NEAR(w[0], -0.2689414213699951, 1e-15);
  EXPECT_NEAR(w[2], 0.7310585786300049, 1e-15);
  const std::vector<double> g = gelu(x).to_vector<double>();
  EXPECT_NEAR(g[0], -0.15865525393145707, 1e-15);
  EXPECT_EQ(g[1], 0.0);
  EXPECT_NEAR(g[2], 0.8413447460685429, 1e-15);
  const std::vector<double> gt = gelu(x, GeluApproximation::Tanh).to_vector<double>();
  EXPECT_NEAR(gt[0], -0.15880800939172324, 1e-15);
  EXPECT_NEAR(gt[2], 0.8411919906082768, 1e-15);
}

TEST(Activations, FloatForwardValues) {
  const Tensor x = from_vector<float>({-1.0f, 1.0f, 3.0f});
  EXPECT_NEAR(gelu(x).to_vector<float>()[1], 0.8413447460685429, 2e-7);
  EXPECT_NEAR(gelu(x, GeluApproximation::Tanh).to_vector<float>()[1], 0.8411919906082768, 2e-7);
  EXPECT_NEAR(sigmoid(x).to_vector<float>()[0], 0.2689414213699951, 1e-7);
  EXPECT_NEAR(tanh(x).to_vector<float>()[2], 0.9950547536867305, 1e-7);
  EXPECT_NEAR(silu(x).to_vector<float>()[2], 2.8577223804673, 4e-7);
}

TEST(Activations, FloatKernelsMatchDouble) {
  // The f32 kernels use vectorised approximations of exp/tanh/erfc; over a
  // dense sweep they must stay within a few ulp (f32 eps = 1.2e-7) of the f64
  // (std::) results. gelu's bounds are wider: rounding x + 0.044715 x^3 (or
  // x^2 / 2 inside erfc) to f32 costs up to |x|^2 ulp in the negative tail,
  // where the values are tiny; PyTorch's vectorised erf is far coarser there.
  struct Bound {
    const char* name;
    double relative;       // relative error where |value| >= 1e-3
    double tail_relative;  // relative error down to values of 1e-30
  };
  const Bound bounds[] = {{"relu", 0.0, 0.0},   {"sigmoid", 3e-7, 3e-7}, {"tanh", 3e-7, 3e-7},
                          {"silu", 3e-7, 3e-7}, {"gelu", 2e-6, 3e-5},    {"gelu_tanh", 1e-6, 1e-5}};
  const Tensor x64 = arange(-30.0, 30.0, 0.00731, {DType::f64});
  const Tensor x32 = to_dtype(x64, DType::f32);
  const Tensor x_exact = to_dtype(x32, DType::f64);  // the f32 inputs, exactly
  for (std::size_t k = 0; k < std::size(kActivations); ++k) {
    const NamedActivation& activation = kActivations[k];
    SCOPED_TRACE(activation.name);
    ASSERT_EQ(std::string(bounds[k].name), activation.name);
    const Tensor fast = activation.fn(x32), exact = activation.fn(x_exact);
    EXPECT_LE(worst_relative_error(fast, exact, 1e-3), bounds[k].relative);
    EXPECT_LE(worst_relative_error(fast, exact, 1e-30), bounds[k].tail_relative);
  }
}

TEST(Activations, FloatBackwardKernelsMatchDouble) {
  // Gradients are compared by |f32 - f64| / max(|f64|, 1): derivatives cross
  // zero (silu, gelu) and sigmoid/tanh backward use 1 - y, whose f32 rounding
  // is absolute, exactly as in PyTorch.
  const Tensor x64 = arange(-12.0, 12.0, 0.00917, {DType::f64});
  for (const NamedActivation& activation : kActivations) {
    SCOPED_TRACE(activation.name);
    Tensor a = to_dtype(x64, DType::f32).requires_grad_();
    Tensor b = to_dtype(a.detach(), DType::f64).requires_grad_();
    sum(activation.fn(a)).backward();
    sum(activation.fn(b)).backward();
    EXPECT_LT(worst_relative_error(a.grad(), b.grad(), 1.0), 3e-7);
  }
}

TEST(Activations, GradcheckContiguousAndTransposed) {
  manual_seed(11);
  for (const NamedActivation& activation : kActivations) {
    SCOPED_TRACE(activation.name);
    const auto fn = [f = activation.fn](const std::vector<Tensor>& in) { return f(in[0]); };
    // relu's kink at 0 is avoided: uniform samples are never within eps of it.
    expect_gradcheck(fn, {rand({3, 5}, -3, 3, {DType::f64}).requires_grad_()});
    Tensor xt = transpose(rand({5, 3}, -3, 3, {DType::f64}), 0, 1).requires_grad_();
    ASSERT_FALSE(xt.is_contiguous());
    expect_gradcheck(fn, {xt});
    // A broadcast (zero-stride) gradient reaches the backward kernel through expand.
    expect_gradcheck(
        [f = activation.fn](const std::vector<Tensor>& in) {
          return f(expand(in[0], {4, 3}));
        },
        {rand({3}, -3, 3, {DType::f64}).requires_grad_()});
  }
}

TEST(Activations, GradientsAtKnownPoints) {
  Tensor x = from_vector<double>({-1.0, 0.0, 1.0}).requires_grad_();
  sum(relu(x)).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0.0, 0.0, 1.0}));  // 0 at the kink, like PyTorch
  x.set_grad(Tensor());
  sum(gelu(x)).backward();
  // d/dx x Phi(x) = Phi(x) + x phi(x): at 1, 0.8413447460685429 + 0.24197072451914337.
  EXPECT_NEAR(x.grad().to_vector<double>()[2], 1.0833154705876864, 1e-15);
  EXPECT_NEAR(x.grad().to_vector<double>()[1], 0.5, 1e-15);
  x.set_grad(Tensor());
  sum(gelu(x, GeluApproximation::Tanh)).backward();
  // 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 x^2) at x = 1.
  EXPECT_NEAR(x.grad().to_vector<double>()[2], 1.0829640838457826, 1e-14);
  x.set_grad(Tensor());
  sum(silu(x)).backward();
  // s (1 + x (1 - s)) at 1: 0.7310585786300049 * (1 + 0.2689414213699951).
  EXPECT_NEAR(x.grad().to_vector<double>()[2], 0.9276705118714869, 1e-15);
}

TEST(Activations, ExtremeInputsStayFinite) {
  const float inf = std::numeric_limits<float>::infinity();
  const Tensor x = from_vector<float>({-1e4f, -100.0f, -30.0f, 30.0f, 100.0f, 1e4f, -inf, inf});
  for (const NamedActivation& activation : kActivations) {
    SCOPED_TRACE(activation.name);
    Tensor leaf = x.detach().requires_grad_();
    const Tensor y = activation.fn(leaf);
    sum(y).backward();
    const std::vector<float> values = y.to_vector<float>(), grads = leaf.grad().to_vector<float>();
    for (std::size_t i = 0; i + 2 < values.size(); ++i) {  // the two infinities: values only
      EXPECT_TRUE(std::isfinite(values[i])) << i;
      EXPECT_TRUE(std::isfinite(grads[i])) << i;
    }
  }
  EXPECT_EQ(sigmoid(x).to_vector<float>()[0], 0.0f);
  EXPECT_EQ(sigmoid(x).to_vector<float>()[5], 1.0f);
  EXPECT_EQ(tanh(x).to_vector<float>()[6], -1.0f);
  EXPECT_EQ(tanh(x).to_vector<float>()[7], 1.0f);
  EXPECT_EQ(gelu(x).to_vector<float>()[5], 1e4f);
  EXPECT_EQ(gelu(x).to_vector<float>()[0], 0.0f);
}

TEST(Activations, NaNPropagates) {
  const Tensor x = from_vector<float>({std::numeric_limits<float>::quiet_NaN()});
  for (const NamedActivation& activation : kActivations) {
    EXPECT_TRUE(std::isnan(activation.fn(x).item<float>())) << activation.name;
  }
}

TEST(Activations, LargeTensorMatchesPerElementKernel) {
  // 2^17 elements take the parallel path; each element must equal the scalar kernel.
  manual_seed(12);
  const Tensor x = randn({256, 512}, {DType::f32});
  const std::vector<float> in = x.to_vector<float>();
  const std::vector<float> s = sigmoid(x).to_vector<float>(), t = tanh(transpose(x, 0, 1)).to_vector<float>();
  const std::vector<float> in_t = transpose(x, 0, 1).to_vector<float>();
  for (std::size_t i = 0; i < in.size(); ++i) {
    ASSERT_EQ(s[i], cpu::vmath::sigmoid(in[i])) << i;
    ASSERT_EQ(t[i], cpu::vmath::tanh(in_t[i])) << i;
  }
}

TEST(Activations, Errors) {
  const Tensor i = from_vector<std::int64_t>({1, 2});
  for (const NamedActivation& activation : kActivations) {
    const std::string op = std::string(activation.name).substr(0, 4) == "gelu" ? "gelu" : activation.name;
    expect_error([&] { activation.fn(i); }, {op, "i64", "[2]"});
  }
  expect_error([] { relu(from_vector<bool>({true})); }, {"relu", "bool"});
}
