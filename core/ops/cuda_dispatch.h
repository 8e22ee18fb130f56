// The CUDA side of the elementwise raw ops: each helper runs the same argument checks as the CPU path
// (so errors read the same on both devices), allocates the output on the operands' GPU and launches one
// kernel of core/cuda/elementwise.h. A raw op calls one of these when its operands are CUDA tensors:
//   if (x.device().is_cuda()) return unary_on_cuda("exp", cuda::UnaryOp::exp, ElementKinds::floating, x);
#pragma once

#include <string_view>

#include "core/cuda/elementwise.h"
#include "core/tensor.h"

namespace recgrad::raw {

/// Which dtypes an op accepts: floating (f32, f64) or numeric (f32, f64, i64, i32).
enum class ElementKinds { floating, numeric };

/// out = op(x) with x's shape and dtype.
Tensor unary_on_cuda(std::string_view name, cuda::UnaryOp op, ElementKinds kinds, const Tensor& x, double p0 = 0.0,
                     double p1 = 0.0);
/// out = a (op) b over the broadcast shape; a and b share dtype and device.
Tensor binary_on_cuda(std::string_view name, cuda::BinaryOp op, ElementKinds kinds, const Tensor& a, const Tensor& b);
/// out = g * f'(v) over the broadcast shape of g and v (floating).
Tensor backward_on_cuda(std::string_view name, cuda::BackwardOp op, const Tensor& g, const Tensor& v, double p0 = 0.0,
                        double p1 = 0.0);
/// out = op(a, b, c) over the broadcast shape (floating; not `where`, which has its own checks).
Tensor ternary_on_cuda(std::string_view name, cuda::TernaryOp op, const Tensor& a, const Tensor& b, const Tensor& c);

}  // namespace recgrad::raw
