#include "core/ops/cuda_dispatch.h"

#include "core/error.h"
#include "core/ops/unary.h"
#include "core/ops/view.h"

namespace recgrad::raw {
namespace {

void check_kinds(const Tensor& x, ElementKinds kinds, std::string_view name) {
  if (kinds == ElementKinds::floating) check_floating(x, name);
  if (kinds == ElementKinds::numeric) check_numeric(x, name);
}

// Without the CUDA backend no CUDA tensor can exist (allocation throws first), so these are never reached.
[[noreturn]] [[maybe_unused]] void no_cuda_backend(std::string_view name) {
  throw Error(recgrad::detail::concat(name, ": this build of recgrad has no CUDA backend"));
}

}  // namespace

Tensor unary_on_cuda(std::string_view name, cuda::UnaryOp op, ElementKinds kinds, const Tensor& x, double p0,
                     double p1) {
  check_kinds(x, kinds, name);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
#if RECGRAD_WITH_CUDA
  cuda::unary(op, out, x, p0, p1);
  return out;
#else
  (void)op, (void)p0, (void)p1;
  no_cuda_backend(name);
#endif
}

Tensor binary_on_cuda(std::string_view name, cuda::BinaryOp op, ElementKinds kinds, const Tensor& a, const Tensor& b) {
  check_kinds(a, kinds, name);
  const Shape shape = detail::common_shape(name, a, b);
  Tensor out = Tensor::empty(shape, a.dtype(), a.device());
#if RECGRAD_WITH_CUDA
  cuda::binary(op, out, expand(a, shape), expand(b, shape));
  return out;
#else
  (void)op;
  no_cuda_backend(name);
#endif
}

Tensor backward_on_cuda(std::string_view name, cuda::BackwardOp op, const Tensor& g, const Tensor& v, double p0,
                        double p1) {
  check_floating(g, name);
  const Shape shape = detail::common_shape(name, g, v);
  Tensor out = Tensor::empty(shape, g.dtype(), g.device());
#if RECGRAD_WITH_CUDA
  cuda::unary_backward(op, out, expand(g, shape), expand(v, shape), p0, p1);
  return out;
#else
  (void)op, (void)p0, (void)p1;
  no_cuda_backend(name);
#endif
}

Tensor ternary_on_cuda(std::string_view name, cuda::TernaryOp op, const Tensor& a, const Tensor& b, const Tensor& c) {
  check_floating(a, name);
  const Shape shape = detail::common_shape(name, a, b, c);
  Tensor out = Tensor::empty(shape, a.dtype(), a.device());
#if RECGRAD_WITH_CUDA
  cuda::ternary(op, out, expand(a, shape), expand(b, shape), expand(c, shape));
  return out;
#else
  (void)op;
  no_cuda_backend(name);
#endif
}

}  // namespace recgrad::raw
