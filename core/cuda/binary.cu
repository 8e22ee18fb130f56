// Broadcasting arithmetic on CUDA, out = a (op) b, the three-operand kernels (where, the backward of
// maximum/minimum and of pow with a tensor exponent). Formulas and NaN rules
// mirror core/ops/binary.cpp, compare.cpp and autograd/ops/elementwise.cpp.
#include <cmath>
#include <type_traits>

#include "core/cuda/binary.h"
#include "core/cuda/elementwise.cuh"
#include "core/plans/view.h"

namespace recgrad::cuda {
namespace {

template <typename T>
struct BinaryFn {
  BinaryOp op;
  T alpha;
  __device__ T operator()(T x, T y) const {
    switch (op) {
      case BinaryOp::add:
        return T(x + y);
      case BinaryOp::sub:
        return T(x - y);
      case BinaryOp::mul:
        return T(x * y);
      case BinaryOp::div:
        return T(x / y);
      case BinaryOp::maximum:  // x != x is true only for NaN, which wins (as in PyTorch)
        return (x != x || x > y) ? x : y;
      case BinaryOp::minimum:
        return (x != x || x < y) ? x : y;
      case BinaryOp::add_scaled:
        return T(x + alpha * y);
      case BinaryOp::pow:
        if constexpr (std::is_floating_point_v<T>) return pow(x, y);
        return T(0);  // unreachable: pow is floating-only on the host side
    }
    return T(0);
  }
};

template <typename T>
struct TernaryFn {
  TernaryOp op;
  __device__ T operator()(T dy, T s, T o) const {
    switch (op) {
      case TernaryOp::maximum_backward:  // ties split the gradient
        return s == o ? dy / T(2) : (s < o ? T(0) : dy);
      case TernaryOp::minimum_backward:
        return s == o ? dy / T(2) : (s > o ? T(0) : dy);
      case TernaryOp::pow_backward_base:  // (g, x, e)
        return o == T(0) ? T(0) : dy * o * pow(s, o - T(1));
      case TernaryOp::pow_backward_exponent:
        return (s == T(0) && o >= T(0)) ? T(0) : dy * pow(s, o) * log(s);
      default:
        return T(0);  // unreachable (where has its own functor)
    }
  }
};

template <typename T>
struct Where {
  __device__ T operator()(bool c, T x, T y) const { return c ? x : y; }
};

}  // namespace

void binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b, double p0) {
  visit_numeric(out.dtype(), "binary op (CUDA)", [&]<typename T>(T) {
    if constexpr (!std::is_floating_point_v<T>) {
      RG_CHECK(op != BinaryOp::pow, "pow (CUDA): needs a floating tensor, got ", out.dtype());
    }
    launch_map<T, T, T>("binary op (CUDA)", out, BinaryFn<T>{op, static_cast<T>(p0)}, a, b);
  });
}

void ternary(TernaryOp op, const Tensor& out, const Tensor& a, const Tensor& b, const Tensor& c) {
  if (op == TernaryOp::where) {
    visit_dtype(out.dtype(),
                [&]<typename T>(T) { launch_map<T, bool, T, T>("where (CUDA)", out, Where<T>{}, a, b, c); });
    return;
  }
  visit_floating(out.dtype(), "ternary op (CUDA)",
                 [&]<typename T>(T) { launch_map<T, T, T, T>("ternary op (CUDA)", out, TernaryFn<T>{op}, a, b, c); });
}

Tensor binary(std::string_view name, BinaryOp op, raw::ElementKinds kinds, const Tensor& a, const Tensor& b) {
  raw::check_kinds(a, kinds, name);
  const Shape shape = raw::detail::common_shape(name, a, b);
  Tensor out = Tensor::empty(shape, a.dtype(), a.device());
  binary(op, out, raw::expand(a, shape), raw::expand(b, shape));
  return out;
}

Tensor ternary(std::string_view name, TernaryOp op, const Tensor& a, const Tensor& b, const Tensor& c) {
  raw::check_floating(a, name);
  const Shape shape = raw::detail::common_shape(name, a, b, c);
  Tensor out = Tensor::empty(shape, a.dtype(), a.device());
  ternary(op, out, raw::expand(a, shape), raw::expand(b, shape), raw::expand(c, shape));
  return out;
}

}  // namespace recgrad::cuda
