#include "core/plans/elementwise.h"

namespace recgrad::raw {

void check_floating(const Tensor& x, std::string_view op) {
  RG_CHECK(is_floating(x.dtype()), op, ": expected a floating tensor (f32 or f64), got ", x.dtype(), " of shape ",
           x.shape());
}

void check_numeric(const Tensor& x, std::string_view op) {
  RG_CHECK(is_floating(x.dtype()) || is_integral(x.dtype()), op,
           ": expected a numeric tensor (f32, f64, i64, i32), got ", x.dtype(), " of shape ", x.shape());
}

void check_kinds(const Tensor& x, ElementKinds kinds, std::string_view op) {
  if (kinds == ElementKinds::floating) check_floating(x, op);
  if (kinds == ElementKinds::numeric) check_numeric(x, op);
}

}  // namespace recgrad::raw
