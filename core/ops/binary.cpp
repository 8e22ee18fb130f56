#include "core/ops/binary.h"

#include "core/ops/cuda_dispatch.h"
#include "core/ops/unary.h"

namespace recgrad::raw {

Shape check_binary(const Tensor& a, const Tensor& b, std::string_view op) {
  RG_CHECK(a.device() == b.device(), op, ": operands are on different devices (", a.device(), " and ", b.device(), ")");
  RG_CHECK(a.dtype() == b.dtype(), op, ": operands have different dtypes (", a.dtype(), " ", a.shape(), " and ",
           b.dtype(), " ", b.shape(), "); convert one with to_dtype");
  return broadcast_shapes(a.shape(), b.shape(), op);
}

Tensor add(const Tensor& a, const Tensor& b) {
  if (a.device().is_cuda()) return binary_on_cuda("add", cuda::BinaryOp::add, ElementKinds::numeric, a, b);
  return broadcast_map(a, b, "add", [](auto x, auto y) { return x + y; });
}
Tensor sub(const Tensor& a, const Tensor& b) {
  if (a.device().is_cuda()) return binary_on_cuda("sub", cuda::BinaryOp::sub, ElementKinds::numeric, a, b);
  return broadcast_map(a, b, "sub", [](auto x, auto y) { return x - y; });
}
Tensor mul(const Tensor& a, const Tensor& b) {
  if (a.device().is_cuda()) return binary_on_cuda("mul", cuda::BinaryOp::mul, ElementKinds::numeric, a, b);
  return broadcast_map(a, b, "mul", [](auto x, auto y) { return x * y; });
}
Tensor div(const Tensor& a, const Tensor& b) {
  if (a.device().is_cuda()) return binary_on_cuda("div", cuda::BinaryOp::div, ElementKinds::numeric, a, b);
  return broadcast_map(a, b, "div", [](auto x, auto y) { return x / y; });
}

void add_(const Tensor& dst, const Tensor& src, double alpha) {
  const Shape shape = check_binary(dst, src, "add_");
  RG_CHECK(shape == dst.shape(), "add_: source of shape ", src.shape(), " does not broadcast to destination ",
           dst.shape());
#if RECGRAD_WITH_CUDA
  if (dst.device().is_cuda()) {
    check_numeric(dst, "add_");
    cuda::binary(cuda::BinaryOp::add_scaled, dst, dst, expand(src, shape), alpha);
    dst.bump_version();
    return;
  }
#endif
  visit_numeric(dst.dtype(), "add_", [&]<typename T>(T) {
    const T scale = static_cast<T>(alpha);
    cpu::map<T, T, T>(
        dst, [scale](T d, T s) { return static_cast<T>(d + scale * s); }, dst, expand(src, shape));
  });
  dst.bump_version();
}

void mul_(const Tensor& dst, double factor) {
#if RECGRAD_WITH_CUDA
  if (dst.device().is_cuda()) {
    check_numeric(dst, "mul_");
    cuda::unary(cuda::UnaryOp::scale, dst, dst, factor);
    dst.bump_version();
    return;
  }
#endif
  visit_numeric(dst.dtype(), "mul_", [&]<typename T>(T) {
    const T f = static_cast<T>(factor);
    cpu::map<T, T>(
        dst, [f](T d) { return static_cast<T>(d * f); }, dst);
  });
  dst.bump_version();
}

}  // namespace recgrad::raw
