// Comparisons (b8 results) and masked_fill on CUDA (core/ops/compare.h). Every operand is already a view
// of the output's shape. Plain C++ header: no CUDA includes.
#pragma once

#include "core/plans/compare.h"
#include "core/tensor.h"

namespace recgrad::cuda {

using raw::CompareOp;

/// out[i] (b8) = a[i] (op) b[i], with a and b expanded to out's shape and of one dtype.
void compare(CompareOp op, const Tensor& out, const Tensor& a, const Tensor& b);
/// out[i] (b8) = a[i] (op) scalar; floating a compares in its own dtype, others in double (as on the CPU).
void compare_scalar(CompareOp op, const Tensor& out, const Tensor& a, double scalar);
/// out[i] = mask[i] ? value : x[i] (mask b8, expanded to out's shape).
void masked_fill(const Tensor& out, const Tensor& x, const Tensor& mask, double value);

}  // namespace recgrad::cuda
