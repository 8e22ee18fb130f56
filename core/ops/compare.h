// Comparisons and mask-driven selection without autograd: eq/ne/lt/le/gt/ge
// (bool results), logical_not, where, masked_fill, and the extrema maximum /
// minimum with the kernel that routes their gradient. Binary ops broadcast
// NumPy-style and require both operands to share one dtype.
#pragma once

#include "core/tensor.h"

namespace recgrad::raw {

/// a == b, a != b, a < b, a <= b, a > b, a >= b elementwise, as a b8 tensor of
/// the broadcast shape (any dtype; equal dtypes required).
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
/// The same against a scalar: the scalar is converted to a floating x's dtype
/// (like PyTorch); integer and bool x are compared in double.
Tensor eq(const Tensor& a, double b);
Tensor ne(const Tensor& a, double b);
Tensor lt(const Tensor& a, double b);
Tensor le(const Tensor& a, double b);
Tensor gt(const Tensor& a, double b);
Tensor ge(const Tensor& a, double b);

/// !mask for a b8 mask.
Tensor logical_not(const Tensor& mask);

/// condition ? a : b elementwise over the broadcast shape of all three;
/// condition is b8, a and b share a dtype.
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);

/// x with `value` (converted to x's dtype) wherever the b8 mask is true; the
/// mask broadcasts to x's shape, and the result has x's shape.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);

/// Elementwise max(a, b) / min(a, b) over the broadcast shape (numeric dtypes);
/// a NaN in either operand gives NaN.
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);

/// The part of g (broadcast shape of g, self, other) that flows to `self`
/// through maximum(self, other) (is_maximum) or minimum(self, other):
/// g where self wins, g / 2 on ties, 0 where other wins (PyTorch's rule).
Tensor extremum_backward(const Tensor& g, const Tensor& self, const Tensor& other, bool is_maximum);

}  // namespace recgrad::raw
