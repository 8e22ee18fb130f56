#include "autograd/ops/topk.h"

#include "autograd/function.h"
#include "core/ops/reduce.h"
#include "core/ops/topk.h"

namespace recgrad {

TopK topk(const Tensor& x, std::int64_t k, std::int64_t dim, bool largest, bool sorted) {
  raw::ValuesIndices selected = raw::topk(x, k, dim, largest, sorted);
  Tensor values =
      record("topk", selected.values, {x},
             [indices = selected.indices, in_shape = x.shape(), dim](const Tensor& g) -> std::vector<Tensor> {
               return {raw::scatter_selected(g, indices, in_shape, dim)};
             });
  return {values, selected.indices};
}

}  // namespace recgrad
