// Differentiable elementwise math, comparisons and selection. For y = f(x)
// the input gradient is g * f'(x) (g = dL/dy); binary ops broadcast and sum
// each gradient back to its operand's shape.
//   exp:   y = e^x             dx = g * y
//   log:   y = ln x            dx = g / x
//   sqrt:  y = sqrt(x)         dx = g / (2 y)
//   rsqrt: y = 1 / sqrt(x)     dx = -0.5 g y^3
//   abs:   y = |x|             dx = g * sign(x)
//   square: y = x^2            dx = 2 g x
//   pow:   y = x^c             dx = g c x^(c-1)
//          y = x^e (tensor e)  dx = g e x^(e-1) (0 where e = 0),
//                              de = g y ln x (0 where x = 0 and e >= 0)
//   clamp: y = min(max(x, lo), hi)   dx = g where lo <= x <= hi, else 0
//   maximum / minimum: g goes to the chosen operand, split half-half on ties
//   where(c, a, b): da = g where c, db = g where !c
//   masked_fill(x, m, v): dx = g where !m
// Comparisons and logical_not return b8 tensors and are not differentiable.
#pragma once

#include "core/tensor.h"

namespace recgrad {

/// e^x.
Tensor exp(const Tensor& x);
/// Natural logarithm.
Tensor log(const Tensor& x);
/// Square root.
Tensor sqrt(const Tensor& x);
/// 1 / sqrt(x).
Tensor rsqrt(const Tensor& x);
/// |x|.
Tensor abs(const Tensor& x);
/// x * x.
Tensor square(const Tensor& x);
/// x^exponent for a scalar exponent.
Tensor pow(const Tensor& x, double exponent);
/// x^exponent elementwise; x and exponent broadcast and share a dtype.
Tensor pow(const Tensor& x, const Tensor& exponent);
/// min(max(x, lo), hi); pass -inf or inf for a one-sided clamp. Throws unless lo <= hi.
Tensor clamp(const Tensor& x, double lo, double hi);
/// Elementwise max(a, b) with broadcasting; NaN propagates.
Tensor maximum(const Tensor& a, const Tensor& b);
/// Elementwise min(a, b) with broadcasting; NaN propagates.
Tensor minimum(const Tensor& a, const Tensor& b);

/// Elementwise comparisons with broadcasting, returning b8 tensors.
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
/// Comparisons against a scalar (converted to a floating a's dtype).
Tensor eq(const Tensor& a, double b);
Tensor ne(const Tensor& a, double b);
Tensor lt(const Tensor& a, double b);
Tensor le(const Tensor& a, double b);
Tensor gt(const Tensor& a, double b);
Tensor ge(const Tensor& a, double b);
/// !mask for a b8 tensor.
Tensor logical_not(const Tensor& mask);

/// condition ? a : b elementwise; condition is b8; all three broadcast.
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);
/// x with `value` wherever the b8 mask (broadcast to x's shape) is true.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);

}  // namespace recgrad
