#include "autograd/ops/reduce.h"

#include "autograd/function.h"
#include "autograd/ops/binary.h"
#include "autograd/ops/view.h"
#include "core/ops/binary.h"
#include "core/ops/reduce.h"
#include "core/ops/view.h"

namespace recgrad {

Tensor sum(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim) {
  const raw::ReducePlan plan = raw::plan_reduction(x, dims, keepdim, "sum");
  return record("sum", raw::sum(x, dims, keepdim), {x},
                [kept = plan.kept_shape, in_shape = x.shape()](const Tensor& g) -> std::vector<Tensor> {
                  return {expand(reshape(g, kept), in_shape)};
                });
}

Tensor mean(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim) {
  const raw::ReducePlan plan = raw::plan_reduction(x, dims, keepdim, "mean");
  RG_CHECK(is_floating(x.dtype()), "mean: expected a floating tensor, got ", x.dtype(), " ", x.shape());
  const double count = static_cast<double>(plan.inner);
  return mul(sum(x, dims, keepdim), count == 0 ? 0.0 : 1.0 / count);
}

namespace {

// max/min along one dim: the gradient is scattered to the selected index.
Tensor record_selection(const std::string& name, const raw::ValuesIndices& selected, const Tensor& x,
                        std::int64_t dim) {
  if (!x.requires_grad()) return selected.values;
  RG_CHECK(is_floating(x.dtype()), name, ": cannot differentiate a ", x.dtype(), " tensor");
  const int d = raw::axis_layout(x.shape(), dim, name).dim;
  const Shape kept = raw::reduced_shape(x.shape(), d, true);
  return record(name, selected.values, {x},
                [indices = raw::reshape(selected.indices, kept), kept, in_shape = x.shape(),
                 d](const Tensor& g) -> std::vector<Tensor> {
                  return {raw::scatter_selected(raw::reshape(g, kept), indices, in_shape, d)};
                });
}

// amax/amin over dims: ties share the gradient.
Tensor record_extreme(const std::string& name, const Tensor& out, const Tensor& x,
                      const std::vector<std::int64_t>& dims, const Shape& kept) {
  return record(name, out, {x},
                [saved_x = SavedTensor(x), saved_out = SavedTensor(out), dims, kept,
                 name](const Tensor& g) -> std::vector<Tensor> {
                  return {raw::share_among_ties(saved_x.unpack(name), raw::reshape(saved_out.unpack(name), kept),
                                                raw::reshape(g, kept), dims)};
                });
}

}  // namespace

Tensor max(const Tensor& x, std::int64_t dim, bool keepdim) {
  return record_selection("max", raw::max_dim(x, dim, keepdim), x, dim);
}
Tensor min(const Tensor& x, std::int64_t dim, bool keepdim) {
  return record_selection("min", raw::min_dim(x, dim, keepdim), x, dim);
}
Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim) { return raw::max_dim(x, dim, keepdim).indices; }
Tensor argmin(const Tensor& x, std::int64_t dim, bool keepdim) { return raw::min_dim(x, dim, keepdim).indices; }

Tensor amax(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim) {
  const raw::ReducePlan plan = raw::plan_reduction(x, dims, keepdim, "amax");
  return record_extreme("amax", raw::amax(x, dims, keepdim), x, dims, plan.kept_shape);
}
Tensor amin(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim) {
  const raw::ReducePlan plan = raw::plan_reduction(x, dims, keepdim, "amin");
  return record_extreme("amin", raw::amin(x, dims, keepdim), x, dims, plan.kept_shape);
}

Tensor var(const Tensor& x, const std::vector<std::int64_t>& dims, std::int64_t correction, bool keepdim) {
  const raw::ReducePlan plan = raw::plan_reduction(x, dims, keepdim, "var");
  return record(
      "var", raw::var(x, dims, correction, keepdim), {x},
      [saved_x = SavedTensor(x), dims, correction, kept = plan.kept_shape](const Tensor& g) -> std::vector<Tensor> {
        return {raw::var_backward(saved_x.unpack("var"), raw::reshape(g, kept), dims, correction)};
      });
}

Tensor norm(const Tensor& x, double p, const std::vector<std::int64_t>& dims, bool keepdim) {
  const raw::ReducePlan plan = raw::plan_reduction(x, dims, keepdim, "norm");
  const Tensor out = raw::norm(x, p, dims, keepdim);
  return record("norm", out, {x},
                [saved_x = SavedTensor(x), saved_out = SavedTensor(out), p, dims,
                 kept = plan.kept_shape](const Tensor& g) -> std::vector<Tensor> {
                  return {raw::norm_backward(saved_x.unpack("norm"), raw::reshape(saved_out.unpack("norm"), kept),
                                             raw::reshape(g, kept), p, dims)};
                });
}

Tensor logsumexp(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim) {
  const raw::ReducePlan plan = raw::plan_reduction(x, dims, keepdim, "logsumexp");
  const Tensor out = raw::logsumexp(x, dims, keepdim);
  return record(
      "logsumexp", out, {x},
      [saved_x = SavedTensor(x), saved_out = SavedTensor(out),
       kept = plan.kept_shape](const Tensor& g) -> std::vector<Tensor> {
        return {raw::logsumexp_backward(saved_x.unpack("logsumexp"), raw::reshape(saved_out.unpack("logsumexp"), kept),
                                        raw::reshape(g, kept))};
      });
}

}  // namespace recgrad
