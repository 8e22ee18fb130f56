// The elementwise ops on CUDA: math and activations with their fused
// backward kernels, broadcasting arithmetic, comparisons, where/masked_fill,
// and the strided, dtype-converting copy. The raw ops (core/ops/unary.cpp,
// binary.cpp, compare.cpp, copy.cpp) check arguments, allocate the output and
// call these; every operand is already a view of the output's shape
// (broadcast operands carry stride 0). Plain C++ header: no CUDA includes.
#pragma once

#include "core/tensor.h"

namespace recgrad::cuda {

/// out = f(x). p0/p1 are the op's scalars (pow: exponent; clamp: lo, hi; scale: factor).
enum class UnaryOp {
  exp,
  log,
  sqrt,
  rsqrt,
  abs,
  square,
  pow_scalar,
  clamp,
  relu,
  sigmoid,
  tanh,
  silu,
  gelu_erf,
  gelu_tanh,
  scale,
  logical_not,  // b8 -> b8
};

/// out = f(a, b) over numeric dtypes (pow: floating only); add_scaled is a + p0 * b (the in-place add_).
enum class BinaryOp { add, sub, mul, div, maximum, minimum, pow, add_scaled };

/// out = g * f'(v), the fused backward of a unary op, given g = dL/dout and v = the op's input x or its
/// saved output y, exactly like the raw op of the same name (pow_scalar: p0 is the exponent; clamp: p0/p1
/// are lo/hi). f32/f64.
enum class BackwardOp {
  abs,
  pow_scalar,
  clamp,
  relu /* v = y */,
  sigmoid /* v = y */,
  tanh /* v = y */,
  silu,
  gelu_erf,
  gelu_tanh,
  sqrt /* v = y */,
  rsqrt /* v = y */,
  square,
};

/// out = f(a, b, c) for the three-operand kernels.
enum class TernaryOp {
  maximum_backward,  // (g, self, other)
  minimum_backward,
  pow_backward_base,      // (g, x, e): g * e * x^(e-1), 0 where e == 0
  pow_backward_exponent,  // (g, x, e): g * x^e * log(x), 0 where x == 0 and e >= 0
  where,                  // (condition b8, a, b)
};

enum class CompareOp { eq, ne, lt, le, gt, ge };

/// out[i] = op(x[i]) with x viewed in out's shape; out and x share a numeric dtype (b8 for logical_not).
void unary(UnaryOp op, const Tensor& out, const Tensor& x, double p0 = 0.0, double p1 = 0.0);
/// out[i] = op(a[i], b[i]); a and b already expanded to out's shape, of out's dtype.
void binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b, double p0 = 0.0);
/// out[i] = g[i] * f'(v[i]) for the BackwardOp (g and v expanded to out's shape, of out's dtype).
void unary_backward(BackwardOp op, const Tensor& out, const Tensor& g, const Tensor& v, double p0 = 0.0,
                    double p1 = 0.0);
/// out[i] = op(a[i], b[i], c[i]); operands expanded to out's shape (where: a is the b8 condition).
void ternary(TernaryOp op, const Tensor& out, const Tensor& a, const Tensor& b, const Tensor& c);
/// out[i] (b8) = a[i] (op) b[i], with a and b expanded to out's shape and of one dtype.
void compare(CompareOp op, const Tensor& out, const Tensor& a, const Tensor& b);
/// out[i] (b8) = a[i] (op) scalar; floating a compares in its own dtype, others in double (as on the CPU).
void compare_scalar(CompareOp op, const Tensor& out, const Tensor& a, double scalar);
/// out[i] = mask[i] ? value : x[i] (mask b8, expanded to out's shape).
void masked_fill(const Tensor& out, const Tensor& x, const Tensor& mask, double value);
/// dst[i] = static_cast<dst dtype>(src[i]) for any strides and dtypes (src expanded to dst's shape).
void copy(const Tensor& dst, const Tensor& src);

}  // namespace recgrad::cuda
