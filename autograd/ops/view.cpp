#include "autograd/ops/view.h"

#include "autograd/function.h"
#include "autograd/ops/binary.h"
#include "core/factory.h"
#include "core/ops/copy.h"
#include "core/ops/reduce.h"
#include "core/ops/view.h"

namespace recgrad {

namespace {
// The gradient of any view that keeps the element count: reshape it back.
Tensor record_reshape_like(const std::string& name, Tensor out, const Tensor& x) {
  return record(name, std::move(out), {x},
                [shape = x.shape()](const Tensor& g) -> std::vector<Tensor> { return {reshape(g, shape)}; });
}
}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) {
  return record_reshape_like("reshape", raw::reshape(x, shape), x);
}
Tensor view(const Tensor& x, const Shape& shape) { return record_reshape_like("view", raw::view(x, shape), x); }

Tensor flatten(const Tensor& x, std::int64_t start_dim, std::int64_t end_dim) {
  if (x.dim() == 0) return reshape(x, {1});
  const int start = normalize_dim(start_dim, x.dim(), "flatten");
  const int end = normalize_dim(end_dim, x.dim(), "flatten");
  RG_CHECK(start <= end, "flatten: start_dim ", start, " is after end_dim ", end);
  Shape shape(x.shape().begin(), x.shape().begin() + start);
  std::int64_t merged = 1;
  for (int d = start; d <= end; ++d) merged *= x.shape()[d];
  shape.push_back(merged);
  shape.insert(shape.end(), x.shape().begin() + end + 1, x.shape().end());
  return reshape(x, shape);
}

Tensor transpose(const Tensor& x, std::int64_t dim0, std::int64_t dim1) {
  return record("transpose", raw::transpose(x, dim0, dim1), {x},
                [dim0, dim1](const Tensor& g) -> std::vector<Tensor> { return {transpose(g, dim0, dim1)}; });
}

Tensor t(const Tensor& x) {
  RG_CHECK(x.dim() >= 2, "t: expected at least 2 dimensions, got shape ", x.shape());
  return transpose(x, -2, -1);
}

Tensor permute(const Tensor& x, const std::vector<std::int64_t>& order) {
  Tensor out = raw::permute(x, order);
  std::vector<std::int64_t> inverse(order.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    inverse[static_cast<std::size_t>(normalize_dim(order[i], x.dim(), "permute"))] = static_cast<std::int64_t>(i);
  }
  return record("permute", out, {x},
                [inverse](const Tensor& g) -> std::vector<Tensor> { return {permute(g, inverse)}; });
}

Tensor unsqueeze(const Tensor& x, std::int64_t dim) {
  return record_reshape_like("unsqueeze", raw::unsqueeze(x, dim), x);
}
Tensor squeeze(const Tensor& x, std::int64_t dim) { return record_reshape_like("squeeze", raw::squeeze(x, dim), x); }

Tensor expand(const Tensor& x, const Shape& shape) {
  return record("expand", raw::expand(x, shape), {x},
                [in_shape = x.shape()](const Tensor& g) -> std::vector<Tensor> { return {sum_to(g, in_shape)}; });
}

// The gradient of a sub-view is zero everywhere except the viewed window.
namespace {
Tensor record_window(const std::string& name, Tensor out, const Tensor& x,
                     std::function<Tensor(const Tensor&)> window_of) {
  return record(name, std::move(out), {x},
                [shape = x.shape(), window_of = std::move(window_of)](const Tensor& g) -> std::vector<Tensor> {
                  Tensor grad = zeros(shape, {g.dtype(), g.device()});
                  raw::copy_(window_of(grad), g);
                  return {grad};
                });
}
}  // namespace

Tensor narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length) {
  return record_window("narrow", raw::narrow(x, dim, start, length), x,
                       [=](const Tensor& grad) { return raw::narrow(grad, dim, start, length); });
}

Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step) {
  return record_window("slice", raw::slice(x, dim, start, end, step), x,
                       [=](const Tensor& grad) { return raw::slice(grad, dim, start, end, step); });
}

Tensor select(const Tensor& x, std::int64_t dim, std::int64_t index) {
  return record_window("select", raw::select(x, dim, index), x,
                       [=](const Tensor& grad) { return raw::select(grad, dim, index); });
}

Tensor contiguous(const Tensor& x) {
  if (x.is_contiguous()) return x;
  return record("contiguous", raw::clone(x), {x}, [](const Tensor& g) -> std::vector<Tensor> { return {g}; });
}

Tensor clone(const Tensor& x) {
  return record("clone", raw::clone(x), {x}, [](const Tensor& g) -> std::vector<Tensor> { return {g}; });
}

Tensor to_dtype(const Tensor& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  return record("to_dtype", raw::to_dtype(x, dtype), {x},
                [from = x.dtype()](const Tensor& g) -> std::vector<Tensor> { return {raw::to_dtype(g, from)}; });
}

}  // namespace recgrad
