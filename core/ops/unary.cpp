#include "core/ops/unary.h"

#include <cmath>
#include <limits>
#include <type_traits>

#include "core/cpu/unary.h"
#include "core/cuda/binary.h"
#include "core/cuda/unary.h"

namespace recgrad::raw {

namespace {

void check_clamp_bounds(double lo, double hi, const Tensor& x, std::string_view op) {
  RG_CHECK(!std::isnan(lo) && !std::isnan(hi) && lo <= hi, op, ": needs lo <= hi, got lo = ", lo, " and hi = ", hi,
           " (input ", x.dtype(), " of shape ", x.shape(), ")");
}

}  // namespace

// ---- math ----

Tensor exp(const Tensor& x) {
  if (x.is_cuda()) return cuda::unary("exp", cuda::UnaryOp::exp, ElementKinds::floating, x);
  return cpu::exp(x);
}

Tensor log(const Tensor& x) {
  if (x.is_cuda()) return cuda::unary("log", cuda::UnaryOp::log, ElementKinds::floating, x);
  return cpu::log(x);
}

Tensor sqrt(const Tensor& x) {
  if (x.is_cuda()) return cuda::unary("sqrt", cuda::UnaryOp::sqrt, ElementKinds::floating, x);
  return cpu::sqrt(x);
}

Tensor rsqrt(const Tensor& x) {
  if (x.is_cuda()) return cuda::unary("rsqrt", cuda::UnaryOp::rsqrt, ElementKinds::floating, x);
  return cpu::rsqrt(x);
}

Tensor abs(const Tensor& x) {
  if (x.is_cuda()) return cuda::unary("abs", cuda::UnaryOp::abs, ElementKinds::numeric, x);
  return cpu::abs(x);
}

Tensor square(const Tensor& x) {
  if (x.is_cuda()) return cuda::unary("square", cuda::UnaryOp::square, ElementKinds::numeric, x);
  return cpu::square(x);
}

Tensor pow(const Tensor& x, double exponent) {
  if (x.is_cuda()) return cuda::unary("pow", cuda::UnaryOp::pow_scalar, ElementKinds::floating, x, exponent);
  return cpu::pow(x, exponent);
}

Tensor pow(const Tensor& x, const Tensor& exponent) {
  if (x.is_cuda()) return cuda::binary("pow", cuda::BinaryOp::pow, ElementKinds::floating, x, exponent);
  return cpu::pow(x, exponent);
}

Tensor clamp(const Tensor& x, double lo, double hi) {
  check_numeric(x, "clamp");
  check_clamp_bounds(lo, hi, x, "clamp");
  if (x.is_cuda()) {
    return visit_numeric(x.dtype(), "clamp", [&]<typename T>(T) {
      return cuda::unary("clamp", cuda::UnaryOp::clamp, ElementKinds::numeric, x,
                         static_cast<double>(cpu::clamp_bound<T>(lo, true)),
                         static_cast<double>(cpu::clamp_bound<T>(hi, false)));
    });
  }
  return cpu::clamp(x, lo, hi);
}

// ---- activations ----

Tensor relu(const Tensor& x) {
  if (x.is_cuda()) return cuda::unary("relu", cuda::UnaryOp::relu, ElementKinds::floating, x);
  return cpu::relu(x);
}

Tensor sigmoid(const Tensor& x) {
  if (x.is_cuda()) return cuda::unary("sigmoid", cuda::UnaryOp::sigmoid, ElementKinds::floating, x);
  return cpu::sigmoid(x);
}

Tensor tanh(const Tensor& x) {
  if (x.is_cuda()) return cuda::unary("tanh", cuda::UnaryOp::tanh, ElementKinds::floating, x);
  return cpu::tanh(x);
}

Tensor silu(const Tensor& x) {
  if (x.is_cuda()) return cuda::unary("silu", cuda::UnaryOp::silu, ElementKinds::floating, x);
  return cpu::silu(x);
}

// Tanh form: 0.5 x (1 + tanh(u)) is computed as x * sigmoid(2u), the same
// value without the cancellation of 1 + tanh(u) for negative x.
Tensor gelu(const Tensor& x, GeluApproximation approximation) {
  if (x.is_cuda()) {
    return cuda::unary("gelu",
                       approximation == GeluApproximation::Tanh ? cuda::UnaryOp::gelu_tanh : cuda::UnaryOp::gelu_erf,
                       ElementKinds::floating, x);
  }
  return cpu::gelu(x, approximation);
}

// ---- backward kernels ----

Tensor abs_backward(const Tensor& g, const Tensor& x) {
  if (g.is_cuda()) return cuda::unary_backward("abs_backward", cuda::BackwardOp::abs, g, x);
  return cpu::abs_backward(g, x);
}

Tensor pow_backward(const Tensor& g, const Tensor& x, double exponent) {
  if (g.is_cuda()) return cuda::unary_backward("pow_backward", cuda::BackwardOp::pow_scalar, g, x, exponent);
  return cpu::pow_backward(g, x, exponent);
}

Tensor clamp_backward(const Tensor& g, const Tensor& x, double lo, double hi) {
  if (g.is_cuda()) return cuda::unary_backward("clamp_backward", cuda::BackwardOp::clamp, g, x, lo, hi);
  check_clamp_bounds(lo, hi, x, "clamp_backward");
  return cpu::clamp_backward(g, x, lo, hi);
}

Tensor relu_backward(const Tensor& g, const Tensor& y) {
  if (g.is_cuda()) return cuda::unary_backward("relu_backward", cuda::BackwardOp::relu, g, y);
  return cpu::relu_backward(g, y);
}

Tensor sigmoid_backward(const Tensor& g, const Tensor& y) {
  if (g.is_cuda()) return cuda::unary_backward("sigmoid_backward", cuda::BackwardOp::sigmoid, g, y);
  return cpu::sigmoid_backward(g, y);
}

Tensor tanh_backward(const Tensor& g, const Tensor& y) {
  if (g.is_cuda()) return cuda::unary_backward("tanh_backward", cuda::BackwardOp::tanh, g, y);
  return cpu::tanh_backward(g, y);
}

Tensor silu_backward(const Tensor& g, const Tensor& x) {
  if (g.is_cuda()) return cuda::unary_backward("silu_backward", cuda::BackwardOp::silu, g, x);
  return cpu::silu_backward(g, x);
}

Tensor gelu_backward(const Tensor& g, const Tensor& x, GeluApproximation approximation) {
  if (g.is_cuda()) {
    return cuda::unary_backward(
        "gelu_backward",
        approximation == GeluApproximation::Tanh ? cuda::BackwardOp::gelu_tanh : cuda::BackwardOp::gelu_erf, g, x);
  }
  return cpu::gelu_backward(g, x, approximation);
}

Tensor sqrt_backward(const Tensor& g, const Tensor& y) {
  if (g.is_cuda()) return cuda::unary_backward("sqrt_backward", cuda::BackwardOp::sqrt, g, y);
  return cpu::sqrt_backward(g, y);
}

Tensor rsqrt_backward(const Tensor& g, const Tensor& y) {
  if (g.is_cuda()) return cuda::unary_backward("rsqrt_backward", cuda::BackwardOp::rsqrt, g, y);
  return cpu::rsqrt_backward(g, y);
}

Tensor square_backward(const Tensor& g, const Tensor& x) {
  if (g.is_cuda()) return cuda::unary_backward("square_backward", cuda::BackwardOp::square, g, x);
  return cpu::square_backward(g, x);
}

Tensor pow_backward_base(const Tensor& g, const Tensor& x, const Tensor& exponent) {
  if (g.is_cuda()) return cuda::ternary("pow_backward", cuda::TernaryOp::pow_backward_base, g, x, exponent);
  return cpu::pow_backward_base(g, x, exponent);
}

Tensor pow_backward_exponent(const Tensor& g, const Tensor& x, const Tensor& exponent) {
  if (g.is_cuda()) {
    return cuda::ternary("pow_backward", cuda::TernaryOp::pow_backward_exponent, g, x, exponent);
  }
  return cpu::pow_backward_exponent(g, x, exponent);
}

}  // namespace recgrad::raw
