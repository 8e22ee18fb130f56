#include "core/ops/topk.h"

#include <algorithm>
#include <numeric>
#include <vector>

#include "core/cpu/topk.h"
#include "core/cuda/topk.h"
#include "core/ops/copy.h"
#include "core/ops/view.h"

namespace recgrad::raw {

ValuesIndices topk(const Tensor& x, std::int64_t k, std::int64_t dim, bool largest, bool /*sorted*/) {
  RG_CHECK(x.dim() >= 1, "topk: expected a tensor with at least one dimension, got ", x.dtype(), " ", x.shape());
  const AxisLayout layout = axis_layout(x.shape(), dim, "topk");
  const std::int64_t n = layout.size;
  RG_CHECK(k >= 0 && k <= n, "topk: k = ", k, " is out of range for dimension ", layout.dim, " of size ", n, " (input ",
           x.dtype(), " ", x.shape(), ")");
  // Rows along the last dim: move `dim` last (a dense copy when it is not).
  std::vector<std::int64_t> order;
  for (std::int64_t d = 0; d < x.dim(); ++d)
    if (d != layout.dim) order.push_back(d);
  order.push_back(layout.dim);
  const bool last = layout.inner == 1;
  const Tensor rows = raw::contiguous(last ? x : raw::permute(x, order));
  Shape rows_shape = rows.shape();
  rows_shape.back() = k;
  ValuesIndices out{Tensor::empty(rows_shape, x.dtype(), x.device()),
                    Tensor::empty(rows_shape, DType::i64, x.device())};
  visit_numeric(x.dtype(), "topk", [](auto) {});  // the dtype error first, on both devices
  if (x.is_cuda()) {
    cuda::topk_rows(rows, k, largest, out.values, out.indices);
  } else {
    cpu::topk_rows(rows, k, largest, out.values, out.indices);
  }
  if (last) return out;
  std::vector<std::int64_t> inverse(order.size());
  for (std::size_t i = 0; i < order.size(); ++i) inverse[order[i]] = static_cast<std::int64_t>(i);
  return {raw::contiguous(raw::permute(out.values, inverse)), raw::contiguous(raw::permute(out.indices, inverse))};
}

}  // namespace recgrad::raw
