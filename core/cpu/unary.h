// Elementwise math and activations (core/ops/unary.h) on the CPU, with their fused backward kernels: each
// checks the dtype, broadcasts, allocates and maps one per-element lambda (core/cpu/map.h), the same formulas
// as core/cuda/unary.cu. The raw op of the same name dispatches here for CPU tensors.
#pragma once

#include <cmath>
#include <limits>
#include <type_traits>

#include "core/plans/unary.h"
#include "core/tensor.h"

namespace recgrad::cpu {

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

/// e^x.
Tensor exp(const Tensor& x);
/// Natural logarithm.
Tensor log(const Tensor& x);
/// Square root.
Tensor sqrt(const Tensor& x);
/// 1 / sqrt(x).
Tensor rsqrt(const Tensor& x);
/// |x| (numeric dtypes).
Tensor abs(const Tensor& x);
/// x * x (numeric dtypes).
Tensor square(const Tensor& x);
/// x^exponent; exponents 0, 0.5, -0.5, 1, -1, 2 and 3 take exact shortcuts.
Tensor pow(const Tensor& x, double exponent);
/// x^exponent elementwise, broadcasting x against exponent.
Tensor pow(const Tensor& x, const Tensor& exponent);
/// min(max(x, lo), hi) (numeric dtypes; NaN stays NaN). Throws unless lo <= hi.
Tensor clamp(const Tensor& x, double lo, double hi);
/// max(x, 0) (NaN stays NaN).
Tensor relu(const Tensor& x);
/// 1 / (1 + e^-x).
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
/// x * sigmoid(x).
Tensor silu(const Tensor& x);
/// x * Phi(x), or its tanh approximation (see GeluApproximation).
Tensor gelu(const Tensor& x, GeluApproximation approximation);
/// g * sign(x) (sign(0) = 0).
Tensor abs_backward(const Tensor& g, const Tensor& x);
/// g * c * x^(c - 1); zero when c == 0.
Tensor pow_backward(const Tensor& g, const Tensor& x, double exponent);
/// g where lo <= x <= hi, else 0.
Tensor clamp_backward(const Tensor& g, const Tensor& x, double lo, double hi);
/// g where y = relu(x) > 0, else 0.
Tensor relu_backward(const Tensor& g, const Tensor& y);
/// g * y * (1 - y) for y = sigmoid(x).
Tensor sigmoid_backward(const Tensor& g, const Tensor& y);
/// g * (1 - y^2) for y = tanh(x).
Tensor tanh_backward(const Tensor& g, const Tensor& y);
/// g * s * (1 + x * (1 - s)) with s = sigmoid(x).
Tensor silu_backward(const Tensor& g, const Tensor& x);
/// Exact: g * (Phi(x) + x * phi(x)), phi the standard normal density.
/// Tanh: g * (s + 2 x s (1 - s) u'), s = sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3),
/// u' = sqrt(2/pi) (1 + 3 * 0.044715 x^2) (since 1 + tanh(u) = 2 sigmoid(2u)).
Tensor gelu_backward(const Tensor& g, const Tensor& x, GeluApproximation approximation);
/// g / (2 y) with y = sqrt(x).
Tensor sqrt_backward(const Tensor& g, const Tensor& y);
/// -g y^3 / 2 with y = 1 / sqrt(x).
Tensor rsqrt_backward(const Tensor& g, const Tensor& y);
/// 2 g x.
Tensor square_backward(const Tensor& g, const Tensor& x);
/// The gradient of x^e with respect to the base: g e x^(e-1), 0 where e == 0 (broadcast shape).
Tensor pow_backward_base(const Tensor& g, const Tensor& x, const Tensor& exponent);
/// The gradient of x^e with respect to the exponent: g x^e log(x), 0 where x == 0 and e >= 0.
Tensor pow_backward_exponent(const Tensor& g, const Tensor& x, const Tensor& exponent);

}  // namespace recgrad::cpu
