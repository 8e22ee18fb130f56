// Elementwise math without autograd: exp, log, sqrt, rsqrt, abs, square, pow,
// clamp and the activations (relu, sigmoid, tanh, silu, gelu), plus the fused
// kernels their backward passes use (g * f'(x) in one loop). Outputs are dense
// tensors with the input's shape; inputs may be any strided view.
#pragma once

#include <string_view>

#include "core/ops/view.h"
#include "core/plans/elementwise.h"
#include "core/plans/unary.h"
#include "core/tensor.h"

namespace recgrad::raw {

// ---- math (f32/f64 unless noted) ----

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

// ---- activations (f32/f64) ----

/// max(x, 0) (NaN stays NaN).
Tensor relu(const Tensor& x);
/// 1 / (1 + e^-x).
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
/// x * sigmoid(x).
Tensor silu(const Tensor& x);
/// x * Phi(x), or its tanh approximation (see GeluApproximation).
Tensor gelu(const Tensor& x, GeluApproximation approximation);

// ---- fused backward kernels: the gradient of the input given g = dL/dout ----

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

}  // namespace recgrad::raw
