#include "core/ops/binary.h"
#include "core/cpu/binary.h"
#include "core/cuda/binary.h"
#include "core/cuda/unary.h"
#include "core/ops/unary.h"

namespace recgrad::raw {

Shape check_binary(const Tensor& a, const Tensor& b, std::string_view op) {
  RG_CHECK(a.device() == b.device(), op, ": operands are on different devices (", a.device(), " and ", b.device(), ")");
  RG_CHECK(a.dtype() == b.dtype(), op, ": operands have different dtypes (", a.dtype(), " ", a.shape(), " and ",
           b.dtype(), " ", b.shape(), "); convert one with to_dtype");
  return broadcast_shapes(a.shape(), b.shape(), op);
}

namespace {

// out = kernel(a, b) over the broadcast shape on the CPU; a and b share dtype and device.
template <typename Kernel>
Tensor on_cpu(const Tensor& a, const Tensor& b, std::string_view op, Kernel kernel) {
  const Shape shape = check_binary(a, b, op);
  Tensor out = Tensor::empty(shape, a.dtype(), a.device());
  kernel(out, expand(a, shape), expand(b, shape));
  return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  if (a.is_cuda()) return cuda::binary("add", cuda::BinaryOp::add, ElementKinds::numeric, a, b);
  return on_cpu(a, b, "add", cpu::add);
}
Tensor sub(const Tensor& a, const Tensor& b) {
  if (a.is_cuda()) return cuda::binary("sub", cuda::BinaryOp::sub, ElementKinds::numeric, a, b);
  return on_cpu(a, b, "sub", cpu::sub);
}
Tensor mul(const Tensor& a, const Tensor& b) {
  if (a.is_cuda()) return cuda::binary("mul", cuda::BinaryOp::mul, ElementKinds::numeric, a, b);
  return on_cpu(a, b, "mul", cpu::mul);
}
Tensor div(const Tensor& a, const Tensor& b) {
  if (a.is_cuda()) return cuda::binary("div", cuda::BinaryOp::div, ElementKinds::numeric, a, b);
  return on_cpu(a, b, "div", cpu::div);
}

void add_(const Tensor& dst, const Tensor& src, double alpha) {
  const Shape shape = check_binary(dst, src, "add_");
  RG_CHECK(shape == dst.shape(), "add_: source of shape ", src.shape(), " does not broadcast to destination ",
           dst.shape());
  if (dst.is_cuda()) {
    check_numeric(dst, "add_");
    cuda::binary(cuda::BinaryOp::add_scaled, dst, dst, expand(src, shape), alpha);
  } else {
    cpu::add_scaled_(dst, expand(src, shape), alpha);
  }
  dst.bump_version();
}

void mul_(const Tensor& dst, double factor) {
  if (dst.is_cuda()) {
    check_numeric(dst, "mul_");
    cuda::unary(cuda::UnaryOp::scale, dst, dst, factor);
  } else {
    cpu::scale_(dst, factor);
  }
  dst.bump_version();
}

}  // namespace recgrad::raw
