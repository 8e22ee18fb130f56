// Math and activations on CUDA, out = f(x), and their fused backward kernels, out = g * f'(x). The
// formulas mirror core/ops/unary.cpp line by line (same special cases, same stable forms); the op is a
// kernel argument switched on per element (the same branch for every thread: free next to the memory
// traffic), so each dtype compiles one kernel instead of one per op.
#include <cmath>
#include <limits>
#include <type_traits>

#include "core/cuda/elementwise.cuh"
#include "core/cuda/unary.h"
#include "core/plans/view.h"

namespace recgrad::cuda {
namespace {

constexpr double kSqrt2OverPi = 0.79788456080286535588;  // sqrt(2 / pi)
constexpr double kInvSqrt2Pi = 0.39894228040143267794;   // 1 / sqrt(2 pi)
constexpr double kInvSqrt2 = 0.70710678118654752440;     // 1 / sqrt(2)
constexpr double kGeluCubic = 0.044715;

template <typename T>
__device__ __forceinline__ T sigmoid(T z) {
  return T(1) / (T(1) + exp(-z));
}

/// sigmoid(z) and 1 - sigmoid(z) = e^-z sigmoid(z), the latter without the cancellation of 1 - s near 1.
template <typename T>
__device__ __forceinline__ void sigmoid_pair(T z, T& s, T& one_minus_s) {
  const T e = exp(-z);
  s = T(1) / (T(1) + e);
  one_minus_s = s < T(0.5) ? T(1) - s : e * s;
}

/// Phi(x), the standard normal CDF, = erfc(-x / sqrt 2) / 2.
template <typename T>
__device__ __forceinline__ T normal_cdf(T x) {
  return T(0.5) * erfc(-x * T(kInvSqrt2));
}

/// u = sqrt(2/pi) (x + 0.044715 x^3), the argument of tanh in the tanh-form gelu.
template <typename T>
__device__ __forceinline__ T gelu_tanh_argument(T x) {
  return T(kSqrt2OverPi) * (x + T(kGeluCubic) * x * x * x);
}

/// x^e with the exact shortcuts the CPU takes for common exponents.
template <typename T>
__device__ __forceinline__ T pow_scalar(T v, T e) {
  if (e == T(0)) return T(1);
  if (e == T(1)) return v;
  if (e == T(2)) return v * v;
  if (e == T(3)) return v * v * v;
  if (e == T(-1)) return T(1) / v;
  if (e == T(0.5)) return sqrt(v);
  if (e == T(-0.5)) return T(1) / sqrt(v);
  return pow(v, e);
}

/// f(x) for every UnaryOp; the floating-only ops compile only for f32/f64.
template <typename T>
struct UnaryFn {
  UnaryOp op;
  T p0, p1;
  __device__ T operator()(T v) const {
    switch (op) {
      case UnaryOp::abs:
        return v < T(0) ? T(-v) : v;
      case UnaryOp::square:
        return T(v * v);
      case UnaryOp::clamp:
        return v < p0 ? p0 : (v > p1 ? p1 : v);
      case UnaryOp::scale:
        return T(v * p0);
      default:
        break;
    }
    if constexpr (std::is_floating_point_v<T>) {
      switch (op) {
        case UnaryOp::exp:
          return exp(v);
        case UnaryOp::log:
          return log(v);
        case UnaryOp::sqrt:
          return sqrt(v);
        case UnaryOp::rsqrt:
          return T(1) / sqrt(v);
        case UnaryOp::pow_scalar:
          return pow_scalar(v, p0);
        case UnaryOp::relu:
          return v < T(0) ? T(0) : v;
        case UnaryOp::sigmoid:
          return sigmoid(v);
        case UnaryOp::tanh:
          return tanh(v);
        case UnaryOp::silu:
          return v * sigmoid(v);
        case UnaryOp::gelu_erf:
          return v * normal_cdf(v);
        case UnaryOp::gelu_tanh:  // 0.5 x (1 + tanh u) = x sigmoid(2u), without cancellation for x < 0
          return v * sigmoid(T(2) * gelu_tanh_argument(v));
        default:
          break;
      }
    }
    return v;  // unreachable: the host side accepts only valid (op, dtype) pairs
  }
};

struct LogicalNot {
  __device__ bool operator()(bool m) const { return !m; }
};

/// g * f'(x) (or of the saved output y) for every BackwardOp, f32/f64.
template <typename T>
struct BackwardFn {
  BackwardOp op;
  T p0, p1;
  __device__ T operator()(T dy, T v) const {
    switch (op) {
      case BackwardOp::abs:
        return dy * T((v > T(0)) - (v < T(0)));
      case BackwardOp::pow_scalar:
        if (p0 == T(0)) return T(0);
        if (p0 == T(1)) return dy;
        if (p0 == T(2)) return T(2) * dy * v;
        if (p0 == T(0.5)) return dy / (T(2) * sqrt(v));
        return dy * p0 * pow(v, p0 - T(1));
      case BackwardOp::clamp:
        return (v >= p0 && v <= p1) ? dy : T(0);
      case BackwardOp::relu:  // v is the output y
        return v > T(0) ? dy : T(0);
      case BackwardOp::sigmoid:  // v is s = sigmoid(x)
        return dy * v * (T(1) - v);
      case BackwardOp::tanh:  // v is t = tanh(x)
        return dy * (T(1) - v * v);
      case BackwardOp::silu: {
        T s, one_minus_s;
        sigmoid_pair(v, s, one_minus_s);
        return dy * s * (T(1) + v * one_minus_s);
      }
      case BackwardOp::gelu_tanh: {
        T s, one_minus_s;
        sigmoid_pair(T(2) * gelu_tanh_argument(v), s, one_minus_s);
        const T du = T(kSqrt2OverPi) * (T(1) + T(3 * kGeluCubic) * v * v);
        return dy * (s + T(2) * v * s * one_minus_s * du);
      }
      case BackwardOp::gelu_erf: {
        const T density = T(kInvSqrt2Pi) * exp(T(-0.5) * v * v);
        return dy * (normal_cdf(v) + v * density);
      }
      case BackwardOp::sqrt:  // v is y = sqrt(x): dy / (2 y)
        return dy / (T(2) * v);
      case BackwardOp::rsqrt:  // v is y = x^-1/2: -y^3 / 2
        return T(-0.5) * dy * v * v * v;
      case BackwardOp::square:
        return T(2) * dy * v;
      default:
        return T(0);  // unreachable
    }
  }
};

/// A host double converted to T; for integer T saturated to T's range (a clamp bound of 1e30 on an
/// i32 tensor means "no bound", not undefined behaviour).
template <typename T>
T saturating_cast(double value) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(value);
  } else {
    if (value <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    if (value >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return static_cast<T>(value);
  }
}

}  // namespace

void unary(UnaryOp op, const Tensor& out, const Tensor& x, double p0, double p1) {
  if (op == UnaryOp::logical_not) {
    launch_map<bool, bool>("logical_not (CUDA)", out, LogicalNot{}, x);
    return;
  }
  visit_numeric(out.dtype(), "unary op (CUDA)", [&]<typename T>(T) {
    if constexpr (!std::is_floating_point_v<T>) {
      RG_CHECK(op == UnaryOp::abs || op == UnaryOp::square || op == UnaryOp::clamp || op == UnaryOp::scale,
               "unary op (CUDA): op needs a floating tensor, got ", out.dtype());
    }
    launch_map<T, T>("unary op (CUDA)", out, UnaryFn<T>{op, saturating_cast<T>(p0), saturating_cast<T>(p1)}, x);
  });
}

void unary_backward(BackwardOp op, const Tensor& out, const Tensor& g, const Tensor& v, double p0, double p1) {
  visit_floating(out.dtype(), "backward op (CUDA)", [&]<typename T>(T) {
    launch_map<T, T, T>("backward op (CUDA)", out, BackwardFn<T>{op, static_cast<T>(p0), static_cast<T>(p1)}, g, v);
  });
}

Tensor unary(std::string_view name, UnaryOp op, raw::ElementKinds kinds, const Tensor& x, double p0, double p1) {
  raw::check_kinds(x, kinds, name);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  unary(op, out, x, p0, p1);
  return out;
}

Tensor unary_backward(std::string_view name, BackwardOp op, const Tensor& g, const Tensor& v, double p0, double p1) {
  raw::check_floating(g, name);
  const Shape shape = raw::detail::common_shape(name, g, v);
  Tensor out = Tensor::empty(shape, g.dtype(), g.device());
  unary_backward(op, out, raw::expand(g, shape), raw::expand(v, shape), p0, p1);
  return out;
}

}  // namespace recgrad::cuda
