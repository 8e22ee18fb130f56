#include "core/ops/softmax.h"

#include <vector>

#include "core/cpu/parallel.h"
#include "core/cpu/row_softmax.h"
#include "core/ops/copy.h"
#include "core/ops/reduce.h"
#include "core/ops/view.h"

#if RECGRAD_WITH_CUDA
#include "core/cuda/softmax.h"
#endif

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

// Runs row_fn(out_row, a_row, b_row, n) over every row along `dim` of dense
// copies of `a` and `b` (b may be undefined: b_row is then null), rows in
// parallel. When `dim` is not last the inputs are transposed into dense rows
// and the result is transposed back.
template <typename T, typename RowFn>
Tensor map_rows(std::string_view op, std::int64_t dim, RowFn row_fn, const Tensor& a, const Tensor& b = Tensor()) {
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
  const std::int64_t n = layout.size;
  const std::int64_t count = n == 0 ? 0 : out.numel() / n;
  T* out_data = out.data<T>();
  const T* a_data = a_rows.data<T>();
  const T* b_data = b_rows.defined() ? b_rows.data<T>() : nullptr;
  cpu::parallel_for(count, 4 * n, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      row_fn(out_data + r * n, a_data + r * n, b_data ? b_data + r * n : nullptr, n);
    }
  });
  return last ? out : raw::contiguous(raw::permute(out, order.back));
}

void check_same(const Tensor& y, const Tensor& grad, std::string_view op) {
  RG_CHECK(y.shape() == grad.shape() && y.dtype() == grad.dtype(), op, ": gradient ", grad.dtype(), " ", grad.shape(),
           " does not match the output ", y.dtype(), " ", y.shape());
}

}  // namespace

Tensor softmax(const Tensor& x, std::int64_t dim) {
#if RECGRAD_WITH_CUDA
  if (x.device().is_cuda()) return cuda::softmax(x, dim, false);
#endif
  return visit_floating(x.dtype(), "softmax", [&]<typename T>(T) {
    return map_rows<T>(
        "softmax", dim,
        [](T* y, const T* in, const T*, std::int64_t n) {
          const T top = cpu::row_max(in, n);
          const T scale = static_cast<T>(1.0 / cpu::row_sum_exp<true>(in, n, top, y));
#pragma omp simd
          for (std::int64_t j = 0; j < n; ++j) y[j] *= scale;
        },
        x);
  });
}

Tensor log_softmax(const Tensor& x, std::int64_t dim) {
#if RECGRAD_WITH_CUDA
  if (x.device().is_cuda()) return cuda::softmax(x, dim, true);
#endif
  return visit_floating(x.dtype(), "log_softmax", [&]<typename T>(T) {
    return map_rows<T>(
        "log_softmax", dim,
        [](T* y, const T* in, const T*, std::int64_t n) {
          const cpu::RowLogSumExp<T> lse = cpu::row_logsumexp(in, n);
#pragma omp simd
          for (std::int64_t j = 0; j < n; ++j) y[j] = (in[j] - lse.shift) - lse.log_sum;
        },
        x);
  });
}

Tensor softmax_backward(const Tensor& y, const Tensor& grad, std::int64_t dim) {
  check_same(y, grad, "softmax_backward");
#if RECGRAD_WITH_CUDA
  if (y.device().is_cuda()) return cuda::softmax_backward(y, grad, dim, false);
#endif
  return visit_floating(y.dtype(), "softmax_backward", [&]<typename T>(T) {
    return map_rows<T>(
        "softmax_backward", dim,
        [](T* dx, const T* out, const T* g, std::int64_t n) {
          const T dot = static_cast<T>(cpu::row_dot(g, out, n));
#pragma omp simd
          for (std::int64_t j = 0; j < n; ++j) dx[j] = out[j] * (g[j] - dot);
        },
        y, grad);
  });
}

Tensor log_softmax_backward(const Tensor& y, const Tensor& grad, std::int64_t dim) {
  check_same(y, grad, "log_softmax_backward");
#if RECGRAD_WITH_CUDA
  if (y.device().is_cuda()) return cuda::softmax_backward(y, grad, dim, true);
#endif
  return visit_floating(y.dtype(), "log_softmax_backward", [&]<typename T>(T) {
    return map_rows<T>(
        "log_softmax_backward", dim,
        [](T* dx, const T* out, const T* g, std::int64_t n) {
          const T total = static_cast<T>(cpu::row_sum(g, n));
#pragma omp simd
          for (std::int64_t j = 0; j < n; ++j) dx[j] = g[j] - cpu::vmath::exp(out[j]) * total;
        },
        y, grad);
  });
}

}  // namespace recgrad::raw
