// clip_grad_norm_: the joint norm it returns, the scaling it applies, and its errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "optim/clip_grad.h"
#include "recgrad.h"

using namespace recgrad;

namespace {
Tensor with_grad(const Shape& shape, const std::vector<double>& grad, DType dtype = DType::f64) {
  Tensor p = zeros(shape, {dtype}).requires_grad_();
  p.set_grad(to_dtype(from_vector<double>(grad, shape), dtype));
  return p;
}
}  // namespace

TEST(ClipGradNorm, ScalesWhenAboveMaxNorm) {
  // Joint 2-norm of [3, 4] and [12] is sqrt(9 + 16 + 144) = 13.
  Tensor a = with_grad({2}, {3, 4});
  Tensor b = with_grad({1, 1}, {12});
  const double total = clip_grad_norm_({a, b}, 6.5);
  EXPECT_DOUBLE_EQ(total, 13.0);
  const double coef = 6.5 / (13.0 + 1e-6);
  EXPECT_EQ(a.grad().to_vector<double>(), (std::vector<double>{3 * coef, 4 * coef}));
  EXPECT_EQ(b.grad().to_vector<double>(), (std::vector<double>{12 * coef}));
  EXPECT_NEAR(grad_norm({a, b}), 6.5, 1e-6);
}

TEST(ClipGradNorm, LeavesSmallGradientsAlone) {
  Tensor a = with_grad({2}, {3, 4});
  EXPECT_DOUBLE_EQ(clip_grad_norm_({a}, 5.0 + 1e-5), 5.0);
  EXPECT_EQ(a.grad().to_vector<double>(), (std::vector<double>{3, 4}));
  // Exactly at max_norm the coefficient is 5 / (5 + 1e-6) < 1: torch scales, and so do we.
  clip_grad_norm_({a}, 5.0);
  EXPECT_LT(a.grad().to_vector<double>()[0], 3.0);
}

TEST(ClipGradNorm, OtherNormTypes) {
  Tensor a = with_grad({3}, {1, -7, 2});
  Tensor b = with_grad({2}, {-3, 4});
  EXPECT_DOUBLE_EQ(grad_norm({a, b}, 1.0), 17.0);
  EXPECT_DOUBLE_EQ(grad_norm({a, b}, std::numeric_limits<double>::infinity()), 7.0);
  EXPECT_NEAR(grad_norm({a, b}, 3.0), std::cbrt(1 + 343 + 8 + 27 + 64), 1e-12);
  const double total = clip_grad_norm_({a, b}, 3.5, std::numeric_limits<double>::infinity());
  EXPECT_DOUBLE_EQ(total, 7.0);
  EXPECT_NEAR(a.grad().to_vector<double>()[1], -3.5, 1e-6);
}

TEST(ClipGradNorm, SkipsParametersWithoutGradientAndHandlesF32AndViews) {
  Tensor none = zeros({4}, {DType::f32}).requires_grad_();
  EXPECT_EQ(clip_grad_norm_({none}, 1.0), 0.0);
  Tensor a = with_grad({2}, {3, 4}, DType::f32);
  // A non-contiguous gradient: the transpose of [[0, 1], [2, 3]] holds 0, 2, 1, 3.
  Tensor m = zeros({2, 2}, {DType::f32}).requires_grad_();
  m.set_grad(transpose(from_vector<float>({0, 1, 2, 3}, {2, 2}), 0, 1));
  const double total = clip_grad_norm_({none, a, m}, 1.0);
  EXPECT_NEAR(total, std::sqrt(25.0 + 14.0), 1e-5);
  EXPECT_FALSE(none.grad().defined());
  EXPECT_NEAR(m.grad().to_vector<float>()[1], 2.0 / total, 1e-6);
}

TEST(ClipGradNorm, Errors) {
  Tensor a = with_grad({2}, {3, 4});
  EXPECT_THROW(clip_grad_norm_({a}, 1.0, 0.0), Error);
  EXPECT_THROW(clip_grad_norm_({a}, 1.0, -2.0), Error);
  EXPECT_THROW(clip_grad_norm_({a}, -1.0), Error);
  EXPECT_THROW(clip_grad_norm_({a}, std::nan("")), Error);
  Tensor bad = with_grad({2}, {1, std::numeric_limits<double>::infinity()});
  try {
    clip_grad_norm_({bad}, 1.0, 2.0, /*error_if_nonfinite=*/true);
    ADD_FAILURE() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("clip_grad_norm_"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("inf"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(std::isinf(clip_grad_norm_({bad}, 1.0)));  // without the flag: the norm is returned
  try {
    clip_grad_norm_({a}, 1.0, 0.0);
    ADD_FAILURE() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("norm_type"), std::string::npos) << e.what();
  }
}
