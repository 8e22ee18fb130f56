// Comparisons (b8 results), logical_not, where and masked_fill (core/ops/compare.h) on the CPU, through the
// one elementwise loop of core/cpu/loops.h; every operand is already a view of the output's shape. The CUDA
// side is core/cuda/compare.cu (where and logical_not run on the kernels of binary.cu and unary.cu).
#pragma once

#include "core/plans/compare.h"
#include "core/tensor.h"

namespace recgrad::cpu {

/// out[i] (b8) = a[i] (op) b[i], with a and b expanded to out's shape and of one dtype.
void compare(raw::CompareOp op, const Tensor& out, const Tensor& a, const Tensor& b);
/// out[i] (b8) = a[i] (op) scalar; floating a compares in its own dtype, others in double.
void compare_scalar(raw::CompareOp op, const Tensor& out, const Tensor& a, double scalar);
/// out[i] (b8) = !mask[i].
void logical_not(const Tensor& out, const Tensor& mask);
/// out[i] = condition[i] ? a[i] : b[i] (condition b8; operands expanded to out's shape).
void where(const Tensor& out, const Tensor& condition, const Tensor& a, const Tensor& b);
/// out[i] = mask[i] ? value : x[i] (mask b8, expanded to out's shape; value converted to x's dtype).
void masked_fill(const Tensor& out, const Tensor& x, const Tensor& mask, double value);

/// Elementwise max(a, b) / min(a, b) over the broadcast shape (numeric dtypes; NaN wins).
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
/// The gradient of maximum (is_maximum) or minimum for `self`: g where self wins, g / 2 on ties, else 0.
Tensor extremum_backward(const Tensor& g, const Tensor& self, const Tensor& other, bool is_maximum);

}  // namespace recgrad::cpu
