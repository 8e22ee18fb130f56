#include "core/ops/compare.h"

#include "core/cpu/compare.h"
#include "core/cuda/binary.h"
#include "core/cuda/compare.h"
#include "core/cuda/unary.h"
#include "core/ops/binary.h"
#include "core/ops/unary.h"
#include "core/ops/view.h"

namespace recgrad::raw {

namespace {

void check_mask(const Tensor& mask, std::string_view op, std::string_view role) {
  RG_CHECK(mask.dtype() == DType::b8, op, ": the ", role, " must be a bool (b8) tensor, got ", mask.dtype(),
           " of shape ", mask.shape());
}

// out[i] = a[i] (op) b[i] as bool over the broadcast shape.
Tensor compare_tensors(const Tensor& a, const Tensor& b, std::string_view name, CompareOp op) {
  const Shape shape = check_binary(a, b, name);
  Tensor out = Tensor::empty(shape, DType::b8, a.device());
  if (out.is_cuda()) {
    cuda::compare(op, out, raw::expand(a, shape), raw::expand(b, shape));
  } else {
    cpu::compare(op, out, raw::expand(a, shape), raw::expand(b, shape));
  }
  return out;
}

// out[i] = a[i] (op) scalar; floating a compares in its own dtype, others in double.
Tensor compare_scalar(const Tensor& a, double scalar, CompareOp op) {
  Tensor out = Tensor::empty(a.shape(), DType::b8, a.device());
  if (out.is_cuda()) {
    cuda::compare_scalar(op, out, a, scalar);
  } else {
    cpu::compare_scalar(op, out, a, scalar);
  }
  return out;
}

}  // namespace

Tensor eq(const Tensor& a, const Tensor& b) { return compare_tensors(a, b, "eq", CompareOp::eq); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare_tensors(a, b, "ne", CompareOp::ne); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare_tensors(a, b, "lt", CompareOp::lt); }
Tensor le(const Tensor& a, const Tensor& b) { return compare_tensors(a, b, "le", CompareOp::le); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare_tensors(a, b, "gt", CompareOp::gt); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare_tensors(a, b, "ge", CompareOp::ge); }

Tensor eq(const Tensor& a, double b) { return compare_scalar(a, b, CompareOp::eq); }
Tensor ne(const Tensor& a, double b) { return compare_scalar(a, b, CompareOp::ne); }
Tensor lt(const Tensor& a, double b) { return compare_scalar(a, b, CompareOp::lt); }
Tensor le(const Tensor& a, double b) { return compare_scalar(a, b, CompareOp::le); }
Tensor gt(const Tensor& a, double b) { return compare_scalar(a, b, CompareOp::gt); }
Tensor ge(const Tensor& a, double b) { return compare_scalar(a, b, CompareOp::ge); }

Tensor logical_not(const Tensor& mask) {
  check_mask(mask, "logical_not", "input");
  Tensor out = Tensor::empty(mask.shape(), DType::b8, mask.device());
  if (out.is_cuda()) {
    cuda::unary(cuda::UnaryOp::logical_not, out, mask);
  } else {
    cpu::logical_not(out, mask);
  }
  return out;
}

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  check_mask(condition, "where", "condition");
  RG_CHECK(condition.device() == a.device(), "where: condition on ", condition.device(), " but values on ", a.device());
  const Shape shape = broadcast_shapes(condition.shape(), check_binary(a, b, "where"), "where");
  Tensor out = Tensor::empty(shape, a.dtype(), a.device());
  if (out.is_cuda()) {
    cuda::ternary(cuda::TernaryOp::where, out, raw::expand(condition, shape), raw::expand(a, shape),
                  raw::expand(b, shape));
  } else {
    cpu::where(out, raw::expand(condition, shape), raw::expand(a, shape), raw::expand(b, shape));
  }
  return out;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  check_mask(mask, "masked_fill", "mask");
  RG_CHECK(mask.device() == x.device(), "masked_fill: mask on ", mask.device(), " but input on ", x.device());
  RG_CHECK(broadcast_shapes(x.shape(), mask.shape(), "masked_fill") == x.shape(), "masked_fill: mask of shape ",
           mask.shape(), " does not broadcast to the input's shape ", x.shape(), " (", x.dtype(), ")");
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (out.is_cuda()) {
    cuda::masked_fill(out, x, raw::expand(mask, x.shape()), value);
  } else {
    cpu::masked_fill(out, x, raw::expand(mask, x.shape()), value);
  }
  return out;
}

// `a != a` is true only for NaN, which then wins (as in PyTorch); a NaN b
// fails both comparisons and is taken as the fallback.
Tensor maximum(const Tensor& a, const Tensor& b) {
  if (a.is_cuda()) return cuda::binary("maximum", cuda::BinaryOp::maximum, ElementKinds::numeric, a, b);
  return cpu::maximum(a, b);
}

Tensor minimum(const Tensor& a, const Tensor& b) {
  if (a.is_cuda()) return cuda::binary("minimum", cuda::BinaryOp::minimum, ElementKinds::numeric, a, b);
  return cpu::minimum(a, b);
}

Tensor extremum_backward(const Tensor& g, const Tensor& self, const Tensor& other, bool is_maximum) {
  if (g.is_cuda()) {
    return is_maximum ? cuda::ternary("maximum_backward", cuda::TernaryOp::maximum_backward, g, self, other)
                      : cuda::ternary("minimum_backward", cuda::TernaryOp::minimum_backward, g, self, other);
  }
  return cpu::extremum_backward(g, self, other, is_maximum);
}

}  // namespace recgrad::raw
