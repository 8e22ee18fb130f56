#include "autograd/ops/reduce.h"

#include "autograd/function.h"
#include "autograd/ops/arithmetic.h"
#include "autograd/ops/views.h"
#include "core/ops/binary.h"
#include "core/ops/reduce.h"

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

}  // namespace recgrad
