#include "core/ops/binary.h"

namespace recgrad::raw {

Shape check_binary(const Tensor& a, const Tensor& b, std::string_view op) {
  RG_CHECK(a.device() == b.device(), op, ": operands are on different devices (", a.device(), " and ", b.device(), ")");
  RG_CHECK(a.dtype() == b.dtype(), op, ": operands have different dtypes (", a.dtype(), " ", a.shape(), " and ",
           b.dtype(), " ", b.shape(), "); convert one with to_dtype");
  return broadcast_shapes(a.shape(), b.shape(), op);
}

Tensor add(const Tensor& a, const Tensor& b) {
  return broadcast_map(a, b, "add", [](auto x, auto y) { return x + y; });
}
Tensor sub(const Tensor& a, const Tensor& b) {
  return broadcast_map(a, b, "sub", [](auto x, auto y) { return x - y; });
}
Tensor mul(const Tensor& a, const Tensor& b) {
  return broadcast_map(a, b, "mul", [](auto x, auto y) { return x * y; });
}
Tensor div(const Tensor& a, const Tensor& b) {
  return broadcast_map(a, b, "div", [](auto x, auto y) { return x / y; });
}

void add_(const Tensor& dst, const Tensor& src, double alpha) {
  const Shape shape = check_binary(dst, src, "add_");
  RG_CHECK(shape == dst.shape(), "add_: source of shape ", src.shape(), " does not broadcast to destination ",
           dst.shape());
  visit_numeric(dst.dtype(), "add_", [&]<typename T>(T) {
    const T scale = static_cast<T>(alpha);
    cpu::map<T, T, T>(
        dst, [scale](T d, T s) { return static_cast<T>(d + scale * s); }, dst, expand(src, shape));
  });
  dst.bump_version();
}

void mul_(const Tensor& dst, double factor) {
  visit_numeric(dst.dtype(), "mul_", [&]<typename T>(T) {
    const T f = static_cast<T>(factor);
    cpu::map<T, T>(
        dst, [f](T d) { return static_cast<T>(d * f); }, dst);
  });
  dst.bump_version();
}

}  // namespace recgrad::raw
