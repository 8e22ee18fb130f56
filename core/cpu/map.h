// Typed elementwise maps over broadcast operands, the building block of the CPU kernels of the unary and
// compare families: check the dtype, broadcast the operands, allocate the output and run cpu::map with a
// generic per-element lambda called with the C++ element type.
#pragma once

#include <string_view>

#include "core/cpu/loops.h"
#include "core/plans/elementwise.h"
#include "core/plans/view.h"
#include "core/tensor.h"

namespace recgrad::cpu {

namespace detail {
template <typename T, typename>
using Repeat = T;

template <typename T, typename Fn, typename... Tensors>
Tensor map_as(const Shape& shape, Fn fn, const Tensor& first, const Tensors&... rest) {
  Tensor out = Tensor::empty(shape, first.dtype(), first.device());
  cpu::map<T, T, Repeat<T, Tensors>...>(
      out, [fn](T x, Repeat<T, Tensors>... more) RG_KERNEL { return static_cast<T>(fn(x, more...)); },
      raw::expand(first, shape), raw::expand(rest, shape)...);
  return out;
}
}  // namespace detail

/// out[i] = fn(first[i], rest[i]...) over the broadcast shape of f32/f64
/// operands that share one dtype; `fn` is a generic lambda called with the
/// C++ element type. The building block of every floating elementwise op.
template <typename Fn, typename... Tensors>
Tensor floating_map(std::string_view op, Fn fn, const Tensor& first, const Tensors&... rest) {
  raw::check_floating(first, op);
  const Shape shape = raw::detail::common_shape(op, first, rest...);
  return visit_floating(first.dtype(), op, [&]<typename T>(T) { return detail::map_as<T>(shape, fn, first, rest...); });
}

/// Like floating_map, for the numeric dtypes f32, f64, i64, i32.
template <typename Fn, typename... Tensors>
Tensor numeric_map(std::string_view op, Fn fn, const Tensor& first, const Tensors&... rest) {
  raw::check_numeric(first, op);
  const Shape shape = raw::detail::common_shape(op, first, rest...);
  return visit_numeric(first.dtype(), op, [&]<typename T>(T) { return detail::map_as<T>(shape, fn, first, rest...); });
}

}  // namespace recgrad::cpu
