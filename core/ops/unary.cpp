#include "core/ops/unary.h"

#include <cmath>
#include <limits>
#include <type_traits>

#include "core/cpu/vec_math.h"
#include "core/cuda/binary.h"
#include "core/cuda/unary.h"

namespace recgrad::raw {

namespace vmath = cpu::vmath;

namespace {

constexpr double kSqrt2OverPi = 0.79788456080286535588;  // sqrt(2 / pi)
constexpr double kInvSqrt2Pi = 0.39894228040143267794;   // 1 / sqrt(2 pi), the normal density at 0
constexpr double kGeluCubic = 0.044715;

// `bound` converted to T; for integer T the bound saturates and is rounded
// inwards (x >= 0.5 means x >= 1), so the conversion never overflows.
template <typename T>
T clamp_bound(double bound, bool is_lower) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(bound);
  } else {
    constexpr double lowest = static_cast<double>(std::numeric_limits<T>::lowest());
    constexpr double highest = static_cast<double>(std::numeric_limits<T>::max());
    const double rounded = is_lower ? std::ceil(bound) : std::floor(bound);
    if (rounded <= lowest) return std::numeric_limits<T>::lowest();
    if (rounded >= highest) return std::numeric_limits<T>::max();
    return static_cast<T>(rounded);
  }
}

void check_clamp_bounds(double lo, double hi, const Tensor& x, std::string_view op) {
  RG_CHECK(!std::isnan(lo) && !std::isnan(hi) && lo <= hi, op, ": needs lo <= hi, got lo = ", lo, " and hi = ", hi,
           " (input ", x.dtype(), " of shape ", x.shape(), ")");
}

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

// ---- math ----

Tensor exp(const Tensor& x) {
  if (x.is_cuda()) return cuda::unary("exp", cuda::UnaryOp::exp, ElementKinds::floating, x);
  return floating_map(
      "exp", [](auto v) RG_KERNEL { return vmath::exp(v); }, x);
}

Tensor log(const Tensor& x) {
  if (x.is_cuda()) return cuda::unary("log", cuda::UnaryOp::log, ElementKinds::floating, x);
  return floating_map(
      "log", [](auto v) RG_KERNEL { return std::log(v); }, x);
}

Tensor sqrt(const Tensor& x) {
  if (x.is_cuda()) return cuda::unary("sqrt", cuda::UnaryOp::sqrt, ElementKinds::floating, x);
  return floating_map(
      "sqrt", [](auto v) RG_KERNEL { return std::sqrt(v); }, x);
}

Tensor rsqrt(const Tensor& x) {
  if (x.is_cuda()) return cuda::unary("rsqrt", cuda::UnaryOp::rsqrt, ElementKinds::floating, x);
  return floating_map(
      "rsqrt", [](auto v) RG_KERNEL { return 1 / std::sqrt(v); }, x);
}

Tensor abs(const Tensor& x) {
  if (x.is_cuda()) return cuda::unary("abs", cuda::UnaryOp::abs, ElementKinds::numeric, x);
  return numeric_map(
      "abs", [](auto v) RG_KERNEL { return v < 0 ? -v : v; }, x);
}

Tensor square(const Tensor& x) {
  if (x.is_cuda()) return cuda::unary("square", cuda::UnaryOp::square, ElementKinds::numeric, x);
  return numeric_map(
      "square", [](auto v) RG_KERNEL { return v * v; }, x);
}

Tensor pow(const Tensor& x, double exponent) {
  if (x.is_cuda()) return cuda::unary("pow", cuda::UnaryOp::pow_scalar, ElementKinds::floating, x, exponent);
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
  if (x.is_cuda()) return cuda::binary("pow", cuda::BinaryOp::pow, ElementKinds::floating, x, exponent);
  return floating_map(
      "pow", [](auto v, auto e) RG_KERNEL { return std::pow(v, e); }, x, exponent);
}

Tensor clamp(const Tensor& x, double lo, double hi) {
  check_numeric(x, "clamp");
  check_clamp_bounds(lo, hi, x, "clamp");
  if (x.is_cuda()) {
    return visit_numeric(x.dtype(), "clamp", [&]<typename T>(T) {
      return cuda::unary("clamp", cuda::UnaryOp::clamp, ElementKinds::numeric, x,
                         static_cast<double>(clamp_bound<T>(lo, true)), static_cast<double>(clamp_bound<T>(hi, false)));
    });
  }
  return visit_numeric(x.dtype(), "clamp", [&]<typename T>(T) {
    const T low = clamp_bound<T>(lo, true), high = clamp_bound<T>(hi, false);
    return detail::map_as<T>(
        x.shape(), [low, high](T v) { return v < low ? low : (v > high ? high : v); }, x);
  });
}

// ---- activations ----

Tensor relu(const Tensor& x) {
  if (x.is_cuda()) return cuda::unary("relu", cuda::UnaryOp::relu, ElementKinds::floating, x);
  return floating_map(
      "relu", [](auto v) RG_KERNEL { return v < 0 ? decltype(v){0} : v; }, x);
}

Tensor sigmoid(const Tensor& x) {
  if (x.is_cuda()) return cuda::unary("sigmoid", cuda::UnaryOp::sigmoid, ElementKinds::floating, x);
  return floating_map(
      "sigmoid", [](auto v) RG_KERNEL { return vmath::sigmoid(v); }, x);
}

Tensor tanh(const Tensor& x) {
  if (x.is_cuda()) return cuda::unary("tanh", cuda::UnaryOp::tanh, ElementKinds::floating, x);
  return floating_map(
      "tanh", [](auto v) RG_KERNEL { return vmath::tanh(v); }, x);
}

Tensor silu(const Tensor& x) {
  if (x.is_cuda()) return cuda::unary("silu", cuda::UnaryOp::silu, ElementKinds::floating, x);
  return floating_map(
      "silu", [](auto v) RG_KERNEL { return v * vmath::sigmoid(v); }, x);
}

// Tanh form: 0.5 x (1 + tanh(u)) is computed as x * sigmoid(2u), the same
// value without the cancellation of 1 + tanh(u) for negative x.
Tensor gelu(const Tensor& x, GeluApproximation approximation) {
  if (x.is_cuda()) {
    return cuda::unary("gelu",
                       approximation == GeluApproximation::Tanh ? cuda::UnaryOp::gelu_tanh : cuda::UnaryOp::gelu_erf,
                       ElementKinds::floating, x);
  }
  if (approximation == GeluApproximation::Tanh) {
    return floating_map(
        "gelu", [](auto v) RG_KERNEL { return v * vmath::sigmoid(2 * gelu_tanh_argument(v)); }, x);
  }
  return floating_map(
      "gelu", [](auto v) RG_KERNEL { return v * vmath::normal_cdf(v); }, x);
}

// ---- backward kernels ----

Tensor abs_backward(const Tensor& g, const Tensor& x) {
  if (g.is_cuda()) return cuda::unary_backward("abs_backward", cuda::BackwardOp::abs, g, x);
  return floating_map(
      "abs_backward", [](auto dy, auto v) RG_KERNEL { return dy * static_cast<decltype(v)>((v > 0) - (v < 0)); }, g, x);
}

Tensor pow_backward(const Tensor& g, const Tensor& x, double exponent) {
  if (g.is_cuda()) return cuda::unary_backward("pow_backward", cuda::BackwardOp::pow_scalar, g, x, exponent);
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
  if (g.is_cuda()) return cuda::unary_backward("clamp_backward", cuda::BackwardOp::clamp, g, x, lo, hi);
  check_clamp_bounds(lo, hi, x, "clamp_backward");
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
  if (g.is_cuda()) return cuda::unary_backward("relu_backward", cuda::BackwardOp::relu, g, y);
  return floating_map(
      "relu_backward", [](auto dy, auto v) RG_KERNEL { return v > 0 ? dy : decltype(dy){0}; }, g, y);
}

Tensor sigmoid_backward(const Tensor& g, const Tensor& y) {
  if (g.is_cuda()) return cuda::unary_backward("sigmoid_backward", cuda::BackwardOp::sigmoid, g, y);
  return floating_map(
      "sigmoid_backward", [](auto dy, auto s) RG_KERNEL { return dy * s * (1 - s); }, g, y);
}

Tensor tanh_backward(const Tensor& g, const Tensor& y) {
  if (g.is_cuda()) return cuda::unary_backward("tanh_backward", cuda::BackwardOp::tanh, g, y);
  return floating_map(
      "tanh_backward", [](auto dy, auto t) RG_KERNEL { return dy * (1 - t * t); }, g, y);
}

Tensor silu_backward(const Tensor& g, const Tensor& x) {
  if (g.is_cuda()) return cuda::unary_backward("silu_backward", cuda::BackwardOp::silu, g, x);
  return floating_map(
      "silu_backward",
      [](auto dy, auto v) RG_KERNEL {
        const auto [s, one_minus_s] = sigmoid_pair(v);
        return dy * s * (1 + v * one_minus_s);
      },
      g, x);
}

Tensor gelu_backward(const Tensor& g, const Tensor& x, GeluApproximation approximation) {
  if (g.is_cuda()) {
    return cuda::unary_backward(
        "gelu_backward",
        approximation == GeluApproximation::Tanh ? cuda::BackwardOp::gelu_tanh : cuda::BackwardOp::gelu_erf, g, x);
  }
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
  if (g.is_cuda()) return cuda::unary_backward("sqrt_backward", cuda::BackwardOp::sqrt, g, y);
  return floating_map(
      "sqrt_backward", [](auto dy, auto v) RG_KERNEL { return dy / (2 * v); }, g, y);
}

Tensor rsqrt_backward(const Tensor& g, const Tensor& y) {
  if (g.is_cuda()) return cuda::unary_backward("rsqrt_backward", cuda::BackwardOp::rsqrt, g, y);
  return floating_map(
      "rsqrt_backward", [](auto dy, auto v) RG_KERNEL { return static_cast<decltype(v)>(-0.5) * dy * v * v * v; }, g,
      y);
}

Tensor square_backward(const Tensor& g, const Tensor& x) {
  if (g.is_cuda()) return cuda::unary_backward("square_backward", cuda::BackwardOp::square, g, x);
  return floating_map(
      "square_backward", [](auto dy, auto v) RG_KERNEL { return 2 * dy * v; }, g, x);
}

Tensor pow_backward_base(const Tensor& g, const Tensor& x, const Tensor& exponent) {
  if (g.is_cuda()) return cuda::ternary("pow_backward", cuda::TernaryOp::pow_backward_base, g, x, exponent);
  return floating_map(
      "pow_backward",
      [](auto dy, auto v, auto p) RG_KERNEL {
        using T = decltype(v);
        return p == 0 ? T{0} : dy * p * std::pow(v, p - 1);
      },
      g, x, exponent);
}

Tensor pow_backward_exponent(const Tensor& g, const Tensor& x, const Tensor& exponent) {
  if (g.is_cuda()) {
    return cuda::ternary("pow_backward", cuda::TernaryOp::pow_backward_exponent, g, x, exponent);
  }
  return floating_map(
      "pow_backward",
      [](auto dy, auto v, auto p) RG_KERNEL {
        using T = decltype(v);
        return (v == 0 && p >= 0) ? T{0} : dy * std::pow(v, p) * std::log(v);
      },
      g, x, exponent);
}

}  // namespace recgrad::raw
