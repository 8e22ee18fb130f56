#include "core/ops/softmax.h"

#include <type_traits>
#include <vector>

#include "core/cpu/softmax.h"
#include "core/cuda/softmax.h"
#include "core/ops/copy.h"
#include "core/ops/reduce.h"
#include "core/ops/view.h"

namespace recgrad::raw {

namespace {

// The permutation that moves `dim` last, and its inverse.
struct MoveLast {
  std::vector<std::int64_t> forward;  // result dim i is input dim forward[i]
  std::vector<std::int64_t> back;
};
MoveLast move_last(std::int64_t rank, int dim) {
  MoveLast order;
  for (std::int64_t d = 0; d < rank; ++d)
    if (d != dim) order.forward.push_back(d);
  order.forward.push_back(dim);
  order.back.resize(static_cast<std::size_t>(rank));
  for (std::int64_t i = 0; i < rank; ++i) order.back[order.forward[i]] = i;
  return order;
}

// Runs kernel(out_rows, a_rows, b_rows, n) on dense copies of `a` and `b` (b may be undefined) seen as rows
// along `dim`. When `dim` is not last the inputs are transposed into dense rows and the result is transposed
// back.
template <typename Kernel>
Tensor along_rows(std::string_view op, std::int64_t dim, Kernel kernel, const Tensor& a, const Tensor& b = Tensor()) {
  const AxisLayout layout = axis_layout(a.shape(), dim, op);
  const bool last = layout.inner == 1;
  const MoveLast order = move_last(a.dim(), layout.dim);
  auto as_rows = [&](const Tensor& t) {
    if (!t.defined()) return t;
    return raw::contiguous(last ? t : raw::permute(t, order.forward));
  };
  const Tensor a_rows = as_rows(a);
  const Tensor b_rows = as_rows(b);
  Tensor out = Tensor::empty(a_rows.shape(), a.dtype(), a.device());
  if constexpr (std::is_invocable_v<Kernel, const Tensor&, const Tensor&, std::int64_t>) {
    kernel(out, a_rows, layout.size);
  } else {
    kernel(out, a_rows, b_rows, layout.size);
  }
  return last ? out : raw::contiguous(raw::permute(out, order.back));
}

void check_same(const Tensor& y, const Tensor& grad, std::string_view op) {
  RG_CHECK(y.shape() == grad.shape() && y.dtype() == grad.dtype(), op, ": gradient ", grad.dtype(), " ", grad.shape(),
           " does not match the output ", y.dtype(), " ", y.shape());
}

}  // namespace

Tensor softmax(const Tensor& x, std::int64_t dim) {
  if (x.is_cuda()) return cuda::softmax(x, dim, false);
  return along_rows("softmax", dim, cpu::softmax_rows, x);
}

Tensor log_softmax(const Tensor& x, std::int64_t dim) {
  if (x.is_cuda()) return cuda::softmax(x, dim, true);
  return along_rows("log_softmax", dim, cpu::log_softmax_rows, x);
}

Tensor softmax_backward(const Tensor& y, const Tensor& grad, std::int64_t dim) {
  check_same(y, grad, "softmax_backward");
  if (y.is_cuda()) return cuda::softmax_backward(y, grad, dim, false);
  return along_rows("softmax_backward", dim, cpu::softmax_backward_rows, y, grad);
}

Tensor log_softmax_backward(const Tensor& y, const Tensor& grad, std::int64_t dim) {
  check_same(y, grad, "log_softmax_backward");
  if (y.is_cuda()) return cuda::softmax_backward(y, grad, dim, true);
  return along_rows("log_softmax_backward", dim, cpu::log_softmax_backward_rows, y, grad);
}

}  // namespace recgrad::raw
