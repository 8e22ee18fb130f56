// Broadcasting binary arithmetic without autograd: out = a (op) b, where the
// shapes broadcast NumPy-style and both operands share one dtype.
#pragma once

#include <string_view>

#include "core/cpu/loops.h"
#include "core/ops/view.h"
#include "core/tensor.h"

namespace recgrad::raw {

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
/// dst += alpha * src in place (src broadcasts to dst); bumps dst's version.
void add_(const Tensor& dst, const Tensor& src, double alpha = 1.0);
/// dst *= factor in place; bumps dst's version.
void mul_(const Tensor& dst, double factor);

/// Checks that a and b may be combined by `op` (same device and dtype) and
/// returns their broadcast shape.
Shape check_binary(const Tensor& a, const Tensor& b, std::string_view op);

/// out[i] = fn(a[i], b[i]) over the broadcast shape, for numeric dtypes; the
/// result has dtype `Out` when given, otherwise the inputs' dtype. This is the
/// building block of every broadcasting binary op.
template <typename Fn>
Tensor broadcast_map(const Tensor& a, const Tensor& b, std::string_view op, Fn fn) {
  const Shape shape = check_binary(a, b, op);
  Tensor out = Tensor::empty(shape, a.dtype(), a.device());
  visit_numeric(a.dtype(), op, [&]<typename T>(T) {
    cpu::map<T, T, T>(
        out, [fn](T x, T y) { return static_cast<T>(fn(x, y)); }, raw::expand(a, shape), raw::expand(b, shape));
  });
  return out;
}

}  // namespace recgrad::raw
