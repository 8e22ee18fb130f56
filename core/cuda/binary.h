// Broadcasting arithmetic on CUDA (core/ops/binary.h) and the three-operand kernels (where, the backward
// of maximum/minimum and of pow with a tensor exponent). Plain C++ header: no CUDA includes.
#pragma once

#include <string_view>

#include "core/plans/elementwise.h"
#include "core/tensor.h"

namespace recgrad::cuda {

/// out = f(a, b) over numeric dtypes (pow: floating only); add_scaled is a + p0 * b (the in-place add_).
enum class BinaryOp { add, sub, mul, div, maximum, minimum, pow, add_scaled };

/// out = f(a, b, c) for the three-operand kernels.
enum class TernaryOp {
  maximum_backward,  // (g, self, other)
  minimum_backward,
  pow_backward_base,      // (g, x, e): g * e * x^(e-1), 0 where e == 0
  pow_backward_exponent,  // (g, x, e): g * x^e * log(x), 0 where x == 0 and e >= 0
  where,                  // (condition b8, a, b)
};

/// out = a (op) b over the broadcast shape: checks the dtypes (`kinds`, errors named `name`) and allocates out.
Tensor binary(std::string_view name, BinaryOp op, raw::ElementKinds kinds, const Tensor& a, const Tensor& b);
/// out = op(a, b, c) over the broadcast shape (floating; not `where`, which has its own checks).
Tensor ternary(std::string_view name, TernaryOp op, const Tensor& a, const Tensor& b, const Tensor& c);

/// out[i] = op(a[i], b[i]); a and b already expanded to out's shape, of out's dtype.
void binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b, double p0 = 0.0);
/// out[i] = op(a[i], b[i], c[i]); operands expanded to out's shape (where: a is the b8 condition).
void ternary(TernaryOp op, const Tensor& out, const Tensor& a, const Tensor& b, const Tensor& c);

}  // namespace recgrad::cuda
