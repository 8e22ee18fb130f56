// The dtype and broadcasting checks that the elementwise families (unary, binary, compare) run before
// either device's kernel, so errors read the same on both.
#pragma once

#include <string_view>

#include "core/tensor.h"

namespace recgrad::raw {

/// Throws naming `op`, the shape and the dtype unless `x` is f32 or f64.
void check_floating(const Tensor& x, std::string_view op);
/// Throws naming `op` unless `x` is f32, f64, i64 or i32.
void check_numeric(const Tensor& x, std::string_view op);

/// Which dtypes an op accepts: floating (f32, f64) or numeric (f32, f64, i64, i32).
enum class ElementKinds { floating, numeric };
/// check_floating or check_numeric.
void check_kinds(const Tensor& x, ElementKinds kinds, std::string_view op);

namespace detail {
// Checks that all operands share `first`'s dtype and device; returns their broadcast shape.
template <typename... Tensors>
Shape common_shape(std::string_view op, const Tensor& first, const Tensors&... rest) {
  Shape shape = first.shape();
  [[maybe_unused]] auto join = [&](const Tensor& other) {
    RG_CHECK(other.dtype() == first.dtype(), op, ": operands have different dtypes (", first.dtype(), " ",
             first.shape(), " and ", other.dtype(), " ", other.shape(), "); convert one with to_dtype");
    RG_CHECK(other.device() == first.device(), op, ": operands are on different devices (", first.device(), " and ",
             other.device(), ")");
    shape = broadcast_shapes(shape, other.shape(), op);
  };
  (join(rest), ...);
  return shape;
}
}  // namespace detail

}  // namespace recgrad::raw
