#include "core/cpu/unary.h"

#include <cmath>

#include "core/cpu/map.h"
#include "core/cpu/vec_math.h"

namespace recgrad::cpu {

namespace vmath = cpu::vmath;

namespace {

constexpr double kSqrt2OverPi = 0.79788456080286535588;  // sqrt(2 / pi)
constexpr double kInvSqrt2Pi = 0.39894228040143267794;   // 1 / sqrt(2 pi), the normal density at 0
constexpr double kGeluCubic = 0.044715;

// u = sqrt(2/pi) (x + 0.044715 x^3), the argument of tanh in the tanh-form gelu.
template <typename T>
RG_KERNEL inline T gelu_tanh_argument(T x) {
  return static_cast<T>(kSqrt2OverPi) * (x + static_cast<T>(kGeluCubic) * x * x * x);
}

// sigmoid(z) and 1 - sigmoid(z) = e^-z sigmoid(z), the latter without the
// cancellation of 1 - s when s is close to 1.
template <typename T>
struct SigmoidPair {
  T s, one_minus_s;
};
template <typename T>
RG_KERNEL inline SigmoidPair<T> sigmoid_pair(T z) {
  const T e = vmath::exp(-z);
  const T s = 1 / (1 + e);
  return {s, vmath::select(s < static_cast<T>(0.5), 1 - s, e * s)};  // e * s is NaN only when s = 0
}

}  // namespace

Tensor exp(const Tensor& x) {
  return floating_map(
      "exp", [](auto v) RG_KERNEL { return vmath::exp(v); }, x);
}

Tensor log(const Tensor& x) {
  return floating_map(
      "log", [](auto v) RG_KERNEL { return std::log(v); }, x);
}

Tensor sqrt(const Tensor& x) {
  return floating_map(
      "sqrt", [](auto v) RG_KERNEL { return std::sqrt(v); }, x);
}

Tensor rsqrt(const Tensor& x) {
  return floating_map(
      "rsqrt", [](auto v) RG_KERNEL { return 1 / std::sqrt(v); }, x);
}

Tensor abs(const Tensor& x) {
  return numeric_map(
      "abs", [](auto v) RG_KERNEL { return v < 0 ? -v : v; }, x);
}

Tensor square(const Tensor& x) {
  return numeric_map(
      "square", [](auto v) RG_KERNEL { return v * v; }, x);
}

Tensor pow(const Tensor& x, double exponent) {
  constexpr std::string_view op = "pow";
  if (exponent == 0.0)
    return floating_map(
        op, [](auto v) RG_KERNEL { return decltype(v){1}; }, x);
  if (exponent == 1.0)
    return floating_map(
        op, [](auto v) RG_KERNEL { return v; }, x);
  if (exponent == 2.0)
    return floating_map(
        op, [](auto v) RG_KERNEL { return v * v; }, x);
  if (exponent == 3.0)
    return floating_map(
        op, [](auto v) RG_KERNEL { return v * v * v; }, x);
  if (exponent == -1.0)
    return floating_map(
        op, [](auto v) RG_KERNEL { return 1 / v; }, x);
  if (exponent == 0.5)
    return floating_map(
        op, [](auto v) RG_KERNEL { return std::sqrt(v); }, x);
  if (exponent == -0.5)
    return floating_map(
        op, [](auto v) RG_KERNEL { return 1 / std::sqrt(v); }, x);
  return floating_map(
      op, [exponent](auto v) RG_KERNEL { return std::pow(v, static_cast<decltype(v)>(exponent)); }, x);
}

Tensor pow(const Tensor& x, const Tensor& exponent) {
  return floating_map(
      "pow", [](auto v, auto e) RG_KERNEL { return std::pow(v, e); }, x, exponent);
}

Tensor clamp(const Tensor& x, double lo, double hi) {
  return visit_numeric(x.dtype(), "clamp", [&]<typename T>(T) {
    const T low = clamp_bound<T>(lo, true), high = clamp_bound<T>(hi, false);
    return detail::map_as<T>(
        x.shape(), [low, high](T v) { return v < low ? low : (v > high ? high : v); }, x);
  });
}

Tensor relu(const Tensor& x) {
  return floating_map(
      "relu", [](auto v) RG_KERNEL { return v < 0 ? decltype(v){0} : v; }, x);
}

Tensor sigmoid(const Tensor& x) {
  return floating_map(
      "sigmoid", [](auto v) RG_KERNEL { return vmath::sigmoid(v); }, x);
}

Tensor tanh(const Tensor& x) {
  return floating_map(
      "tanh", [](auto v) RG_KERNEL { return vmath::tanh(v); }, x);
}

Tensor silu(const Tensor& x) {
  return floating_map(
      "silu", [](auto v) RG_KERNEL { return v * vmath::sigmoid(v); }, x);
}

Tensor gelu(const Tensor& x, GeluApproximation approximation) {
  if (approximation == GeluApproximation::Tanh) {
    return floating_map(
        "gelu", [](auto v) RG_KERNEL { return v * vmath::sigmoid(2 * gelu_tanh_argument(v)); }, x);
  }
  return floating_map(
      "gelu", [](auto v) RG_KERNEL { return v * vmath::normal_cdf(v); }, x);
}

Tensor abs_backward(const Tensor& g, const Tensor& x) {
  return floating_map(
      "abs_backward", [](auto dy, auto v) RG_KERNEL { return dy * static_cast<decltype(v)>((v > 0) - (v < 0)); }, g, x);
}

Tensor pow_backward(const Tensor& g, const Tensor& x, double exponent) {
  constexpr std::string_view op = "pow_backward";
  if (exponent == 0.0)
    return floating_map(
        op, [](auto dy, auto) RG_KERNEL { return decltype(dy){0}; }, g, x);
  if (exponent == 1.0)
    return floating_map(
        op, [](auto dy, auto) RG_KERNEL { return dy; }, g, x);
  if (exponent == 2.0)
    return floating_map(
        op, [](auto dy, auto v) RG_KERNEL { return 2 * dy * v; }, g, x);
  if (exponent == 0.5)
    return floating_map(
        op, [](auto dy, auto v) RG_KERNEL { return dy / (2 * std::sqrt(v)); }, g, x);
  return floating_map(
      op,
      [exponent](auto dy, auto v) RG_KERNEL {
        using T = decltype(v);
        return dy * static_cast<T>(exponent) * std::pow(v, static_cast<T>(exponent - 1));
      },
      g, x);
}

Tensor clamp_backward(const Tensor& g, const Tensor& x, double lo, double hi) {
  return floating_map(
      "clamp_backward",
      [lo, hi](auto dy, auto v) RG_KERNEL {
        using T = decltype(v);
        const bool inside = (v >= static_cast<T>(lo)) & (v <= static_cast<T>(hi));
        return inside ? dy : T{0};
      },
      g, x);
}

Tensor relu_backward(const Tensor& g, const Tensor& y) {
  return floating_map(
      "relu_backward", [](auto dy, auto v) RG_KERNEL { return v > 0 ? dy : decltype(dy){0}; }, g, y);
}

Tensor sigmoid_backward(const Tensor& g, const Tensor& y) {
  return floating_map(
      "sigmoid_backward", [](auto dy, auto s) RG_KERNEL { return dy * s * (1 - s); }, g, y);
}

Tensor tanh_backward(const Tensor& g, const Tensor& y) {
  return floating_map(
      "tanh_backward", [](auto dy, auto t) RG_KERNEL { return dy * (1 - t * t); }, g, y);
}

Tensor silu_backward(const Tensor& g, const Tensor& x) {
  return floating_map(
      "silu_backward",
      [](auto dy, auto v) RG_KERNEL {
        const auto [s, one_minus_s] = sigmoid_pair(v);
        return dy * s * (1 + v * one_minus_s);
      },
      g, x);
}

Tensor gelu_backward(const Tensor& g, const Tensor& x, GeluApproximation approximation) {
  if (approximation == GeluApproximation::Tanh) {
    return floating_map(
        "gelu_backward",
        [](auto dy, auto v) RG_KERNEL {
          using T = decltype(v);
          const auto [s, one_minus_s] = sigmoid_pair(2 * gelu_tanh_argument(v));
          const T du = static_cast<T>(kSqrt2OverPi) * (1 + static_cast<T>(3 * kGeluCubic) * v * v);
          return dy * (s + 2 * v * s * one_minus_s * du);
        },
        g, x);
  }
  return floating_map(
      "gelu_backward",
      [](auto dy, auto v) RG_KERNEL {
        using T = decltype(v);
        const T density = static_cast<T>(kInvSqrt2Pi) * vmath::exp(static_cast<T>(-0.5) * v * v);
        return dy * (vmath::normal_cdf(v) + v * density);
      },
      g, x);
}

Tensor sqrt_backward(const Tensor& g, const Tensor& y) {
  return floating_map(
      "sqrt_backward", [](auto dy, auto v) RG_KERNEL { return dy / (2 * v); }, g, y);
}

Tensor rsqrt_backward(const Tensor& g, const Tensor& y) {
  return floating_map(
      "rsqrt_backward", [](auto dy, auto v) RG_KERNEL { return static_cast<decltype(v)>(-0.5) * dy * v * v * v; }, g,
      y);
}

Tensor square_backward(const Tensor& g, const Tensor& x) {
  return floating_map(
      "square_backward", [](auto dy, auto v) RG_KERNEL { return 2 * dy * v; }, g, x);
}

Tensor pow_backward_base(const Tensor& g, const Tensor& x, const Tensor& exponent) {
  return floating_map(
      "pow_backward",
      [](auto dy, auto v, auto p) RG_KERNEL {
        using T = decltype(v);
        return p == 0 ? T{0} : dy * p * std::pow(v, p - 1);
      },
      g, x, exponent);
}

Tensor pow_backward_exponent(const Tensor& g, const Tensor& x, const Tensor& exponent) {
  return floating_map(
      "pow_backward",
      [](auto dy, auto v, auto p) RG_KERNEL {
        using T = decltype(v);
        return (v == 0 && p >= 0) ? T{0} : dy * std::pow(v, p) * std::log(v);
      },
      g, x, exponent);
}

}  // namespace recgrad::cpu
