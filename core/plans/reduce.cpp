#include "core/plans/reduce.h"

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

AxisLayout axis_layout(const Shape& shape, std::int64_t dim, std::string_view op) {
  AxisLayout layout;
  layout.dim = normalize_dim(dim, static_cast<std::int64_t>(shape.size()), op);
  if (shape.empty()) return layout;
  for (int d = 0; d < layout.dim; ++d) layout.outer *= shape[d];
  layout.size = shape[layout.dim];
  for (std::size_t d = layout.dim + 1; d < shape.size(); ++d) layout.inner *= shape[d];
  return layout;
}

Shape reduced_shape(const Shape& shape, int dim, bool keepdim) {
  if (shape.empty()) return shape;
  Shape out = shape;
  if (keepdim) {
    out[dim] = 1;
  } else {
    out.erase(out.begin() + dim);
  }
  return out;
}

}  // namespace recgrad::raw
