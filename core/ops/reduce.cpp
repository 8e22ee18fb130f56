#include "core/ops/reduce.h"

#include "core/cpu/parallel.h"
#include "core/ops/copy.h"
#include "core/ops/view.h"

namespace recgrad::raw {

ReducePlan plan_reduction(const Tensor& input, const std::vector<std::int64_t>& dims, bool keepdim,
                          std::string_view op) {
  ReducePlan plan;
  const std::int64_t rank = input.dim();
  plan.reduced.assign(static_cast<std::size_t>(rank), dims.empty());
  for (std::int64_t dim : dims) {
    const int d = normalize_dim(dim, rank, op);
    if (rank == 0) continue;
    RG_CHECK(!plan.reduced[d], op, ": dimension ", d, " is listed twice");
    plan.reduced[d] = true;
  }
  for (std::int64_t d = 0; d < rank; ++d) {
    const std::int64_t extent = input.shape()[d];
    if (plan.reduced[d]) {
      plan.inner *= extent;
      plan.kept_shape.push_back(1);
      if (keepdim) plan.out_shape.push_back(1);
    } else {
      plan.outer *= extent;
      plan.kept_shape.push_back(extent);
      plan.out_shape.push_back(extent);
    }
  }
  return plan;
}

Tensor as_reduction_rows(const Tensor& input, const ReducePlan& plan) {
  std::vector<std::int64_t> order;
  for (std::size_t d = 0; d < plan.reduced.size(); ++d)
    if (!plan.reduced[d]) order.push_back(static_cast<std::int64_t>(d));
  for (std::size_t d = 0; d < plan.reduced.size(); ++d)
    if (plan.reduced[d]) order.push_back(static_cast<std::int64_t>(d));
  return reshape(permute(input, order), {plan.outer, plan.inner});
}

namespace {
// True when the reduced dims are exactly a leading block of a dense tensor, so
// the input is a dense [inner, outer] matrix whose columns are reduced.
bool reduces_leading_block(const Tensor& input, const ReducePlan& plan) {
  if (!input.is_contiguous()) return false;
  bool seen_kept = false;
  for (bool reduced : plan.reduced) {
    if (!reduced) seen_kept = true;
    else if (seen_kept) return false;
  }
  return true;
}
}  // namespace

Tensor sum(const Tensor& input, const std::vector<std::int64_t>& dims, bool keepdim) {
  const ReducePlan plan = plan_reduction(input, dims, keepdim, "sum");
  Tensor out = Tensor::empty(plan.out_shape, input.dtype(), input.device());
  visit_numeric(input.dtype(), "sum", [&]<typename T>(T) {
    T* result = out.data<T>();
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, std::int64_t>;
    if (plan.inner > 1 && plan.outer > 1 && reduces_leading_block(input, plan)) {
      // Column sums of a dense [inner, outer] matrix: each thread owns a block of columns.
      const T* data = input.data<T>();
      cpu::parallel_for(plan.outer, plan.inner, [&](std::int64_t begin, std::int64_t end) {
        std::vector<Acc> acc(static_cast<std::size_t>(end - begin), Acc{0});
        for (std::int64_t r = 0; r < plan.inner; ++r) {
          const T* row = data + r * plan.outer;
          for (std::int64_t c = begin; c < end; ++c) acc[c - begin] += row[c];
        }
        for (std::int64_t c = begin; c < end; ++c) result[c] = static_cast<T>(acc[c - begin]);
      });
      return;
    }
    const Tensor rows = as_reduction_rows(input, plan);
    const T* data = rows.data<T>();
    cpu::parallel_for(plan.outer, plan.inner, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t o = begin; o < end; ++o) {
        Acc acc{0};
        const T* row = data + o * plan.inner;
        for (std::int64_t i = 0; i < plan.inner; ++i) acc += row[i];
        result[o] = static_cast<T>(acc);
      }
    });
  });
  return out;
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

}  // namespace recgrad::raw
