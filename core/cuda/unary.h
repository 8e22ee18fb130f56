// Elementwise math and activations on CUDA (core/ops/unary.h), with their fused backward kernels, all
// through the one launch_map loop of elementwise.cuh. Plain C++ header: no CUDA includes.
#pragma once

#include <string_view>

#include "core/plans/elementwise.h"
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

/// out = op(x): checks x's dtype (`kinds`, errors named `name`) and allocates out with x's shape and dtype.
Tensor unary(std::string_view name, UnaryOp op, raw::ElementKinds kinds, const Tensor& x, double p0 = 0.0,
             double p1 = 0.0);
/// out = g * f'(v) over the broadcast shape of g and v (floating; errors named `name`).
Tensor unary_backward(std::string_view name, BackwardOp op, const Tensor& g, const Tensor& v, double p0 = 0.0,
                      double p1 = 0.0);

/// out[i] = op(x[i]) with x viewed in out's shape; out and x share a numeric dtype (b8 for logical_not).
void unary(UnaryOp op, const Tensor& out, const Tensor& x, double p0 = 0.0, double p1 = 0.0);
/// out[i] = g[i] * f'(v[i]) for the BackwardOp (g and v expanded to out's shape, of out's dtype).
void unary_backward(BackwardOp op, const Tensor& out, const Tensor& g, const Tensor& v, double p0 = 0.0,
                    double p1 = 0.0);

}  // namespace recgrad::cuda
