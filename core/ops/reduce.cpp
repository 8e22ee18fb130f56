#include "core/ops/reduce.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/cpu/reduce.h"
#include "core/cuda/reduce.h"
#include "core/ops/copy.h"
#include "core/ops/view.h"

namespace recgrad::raw {

Tensor as_reduction_rows(const Tensor& input, const ReducePlan& plan) {
  std::vector<std::int64_t> order;
  for (std::size_t d = 0; d < plan.reduced.size(); ++d)
    if (!plan.reduced[d]) order.push_back(static_cast<std::int64_t>(d));
  for (std::size_t d = 0; d < plan.reduced.size(); ++d)
    if (plan.reduced[d]) order.push_back(static_cast<std::int64_t>(d));
  return contiguous(reshape(permute(input, order), {plan.outer, plan.inner}));  // reshape may return a strided view
}

namespace {
// True when the reduced dims are exactly a leading block of a dense tensor, so
// the input is a dense [inner, outer] matrix whose columns are reduced.
bool reduces_leading_block(const Tensor& input, const ReducePlan& plan) {
  if (!input.is_contiguous()) return false;
  bool seen_kept = false;
  for (bool reduced : plan.reduced) {
    if (!reduced)
      seen_kept = true;
    else if (seen_kept)
      return false;
  }
  return true;
}
}  // namespace

Tensor sum(const Tensor& input, const std::vector<std::int64_t>& dims, bool keepdim) {
  const ReducePlan plan = plan_reduction(input, dims, keepdim, "sum");
  if (input.is_cuda()) return cuda::sum(input, plan);
  if (plan.inner > 1 && plan.outer > 1 && reduces_leading_block(input, plan)) return cpu::sum_columns(input, plan);
  return cpu::sum_rows(as_reduction_rows(input, plan), plan);
}

Tensor sum_to(const Tensor& input, const Shape& shape) {
  if (input.shape() == shape) return input;
  const std::size_t lead = input.shape().size() - shape.size();
  RG_CHECK(input.shape().size() >= shape.size(), "sum_to: cannot reduce shape ", input.shape(), " to ", shape);
  std::vector<std::int64_t> dims;
  for (std::size_t d = 0; d < input.shape().size(); ++d) {
    if (d < lead || (shape[d - lead] == 1 && input.shape()[d] != 1)) dims.push_back(static_cast<std::int64_t>(d));
  }
  if (dims.empty()) return reshape(input, shape);
  return reshape(sum(input, dims, true), shape);
}

namespace {

template <bool kMax>
ValuesIndices extreme_along_dim(const Tensor& input, std::int64_t dim, bool keepdim, std::string_view op) {
  const AxisLayout layout = axis_layout(input.shape(), dim, op);
  RG_CHECK(layout.size > 0 || layout.outer * layout.inner == 0, op, ": cannot reduce dimension ", layout.dim,
           " of extent 0 (input ", input.dtype(), " ", input.shape(), ")");
  if (input.is_cuda()) return cuda::extreme_along_dim(input, layout.dim, keepdim, kMax, op);
  return cpu::extreme_along_dim(raw::contiguous(input), layout.dim, keepdim, kMax, op);
}

template <bool kMax>
Tensor extreme_over_dims(const Tensor& input, const std::vector<std::int64_t>& dims, bool keepdim,
                         std::string_view op) {
  const ReducePlan plan = plan_reduction(input, dims, keepdim, op);
  RG_CHECK(plan.inner > 0 || plan.outer == 0, op, ": cannot reduce over zero elements (input ", input.dtype(), " ",
           input.shape(), ")");
  if (input.is_cuda()) return cuda::extreme_over_dims(input, plan, kMax, op);
  return cpu::extreme_rows(as_reduction_rows(input, plan), plan, kMax, op);
}

}  // namespace

ValuesIndices max_dim(const Tensor& input, std::int64_t dim, bool keepdim) {
  return extreme_along_dim<true>(input, dim, keepdim, "max");
}
ValuesIndices min_dim(const Tensor& input, std::int64_t dim, bool keepdim) {
  return extreme_along_dim<false>(input, dim, keepdim, "min");
}

Tensor amax(const Tensor& input, const std::vector<std::int64_t>& dims, bool keepdim) {
  return extreme_over_dims<true>(input, dims, keepdim, "amax");
}
Tensor amin(const Tensor& input, const std::vector<std::int64_t>& dims, bool keepdim) {
  return extreme_over_dims<false>(input, dims, keepdim, "amin");
}

Tensor var(const Tensor& input, const std::vector<std::int64_t>& dims, std::int64_t correction, bool keepdim) {
  const ReducePlan plan = plan_reduction(input, dims, keepdim, "var");
  RG_CHECK(correction >= 0, "var: correction must be >= 0, got ", correction);
  if (input.is_cuda()) return cuda::var(input, plan, correction);
  return cpu::var_rows(as_reduction_rows(input, plan), plan, correction);
}

Tensor norm(const Tensor& input, double p, const std::vector<std::int64_t>& dims, bool keepdim) {
  const ReducePlan plan = plan_reduction(input, dims, keepdim, "norm");
  RG_CHECK(!std::isnan(p), "norm: p must not be NaN");
  if (input.is_cuda()) return cuda::norm(input, plan, p);
  return cpu::norm_rows(as_reduction_rows(input, plan), plan, p);
}

Tensor logsumexp(const Tensor& input, const std::vector<std::int64_t>& dims, bool keepdim) {
  const ReducePlan plan = plan_reduction(input, dims, keepdim, "logsumexp");
  if (input.is_cuda()) return cuda::logsumexp(input, plan);
  return cpu::logsumexp_rows(as_reduction_rows(input, plan), plan);
}

Tensor scatter_selected(const Tensor& src, const Tensor& index, const Shape& shape, std::int64_t dim) {
  RG_CHECK(index.dtype() == DType::i64 && index.shape() == src.shape(), "scatter_selected: index ", index.dtype(), " ",
           index.shape(), " does not match source ", src.dtype(), " ", src.shape());
  const AxisLayout layout = axis_layout(shape, dim, "scatter_selected");
  if (src.is_cuda()) return cuda::scatter_selected(src, index, shape, layout);
  return cpu::scatter_selected(raw::contiguous(src), raw::contiguous(index), shape, layout);
}

Tensor share_among_ties(const Tensor& x, const Tensor& selected_kept, const Tensor& grad_kept,
                        const std::vector<std::int64_t>& dims) {
  if (x.is_cuda()) return cuda::share_among_ties(x, selected_kept, grad_kept, dims);
  const Shape& shape = x.shape();
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  cpu::mark_ties(out, x, expand(selected_kept, shape));
  const Tensor ties = sum(out, dims, true);
  cpu::share_among_ties_(out, expand(grad_kept, shape), expand(ties, shape));
  return out;
}

Tensor var_backward(const Tensor& x, const Tensor& grad_kept, const std::vector<std::int64_t>& dims,
                    std::int64_t correction) {
  if (x.is_cuda()) return cuda::var_backward(x, grad_kept, dims, correction);
  const ReducePlan plan = plan_reduction(x, dims, true, "var");
  const double count = static_cast<double>(plan.inner);
  const double scale = 2.0 / std::max<double>(0.0, count - static_cast<double>(correction));
  visit_floating(x.dtype(), "var", [](auto) {});  // the dtype error first, before the sum
  return cpu::var_backward(x, sum(x, dims, true), grad_kept, count, scale);
}

Tensor norm_backward(const Tensor& x, const Tensor& norm_kept, const Tensor& grad_kept, double p,
                     const std::vector<std::int64_t>& dims) {
  if (x.is_cuda()) return cuda::norm_backward(x, norm_kept, grad_kept, p, dims);
  if (std::isinf(p)) {  // the gradient is shared among the tied extreme |x|
    visit_floating(x.dtype(), "norm", [](auto) {});
    const Tensor shared = share_among_ties(cpu::magnitude(x), norm_kept, grad_kept, dims);
    return cpu::sign_times(x, shared);
  }
  return cpu::norm_backward(x, norm_kept, grad_kept, p);
}

Tensor logsumexp_backward(const Tensor& x, const Tensor& lse_kept, const Tensor& grad_kept) {
  if (x.is_cuda()) return cuda::logsumexp_backward(x, lse_kept, grad_kept);
  return cpu::logsumexp_backward(x, lse_kept, grad_kept);
}

}  // namespace recgrad::raw
