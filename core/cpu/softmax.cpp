#include "core/cpu/softmax.h"

#include <cstdint>

#include "core/cpu/parallel.h"
#include "core/cpu/row_softmax.h"
#include "core/cpu/vec_math.h"

namespace recgrad::cpu {
namespace {

// Runs row_fn(out_row, a_row, b_row, n) over every row of the dense [count, n] matrices out, a and b (b may be
// undefined: b_row is then null), rows in parallel.
template <typename T, typename RowFn>
void map_rows(RowFn row_fn, const Tensor& out, const Tensor& a, const Tensor& b, std::int64_t n) {
  const std::int64_t count = n == 0 ? 0 : out.numel() / n;
  T* out_data = out.data<T>();
  const T* a_data = a.data<T>();
  const T* b_data = b.defined() ? b.data<T>() : nullptr;
  cpu::parallel_for(count, 4 * n, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      row_fn(out_data + r * n, a_data + r * n, b_data ? b_data + r * n : nullptr, n);
    }
  });
}

}  // namespace

void softmax_rows(const Tensor& out, const Tensor& x, std::int64_t n) {
  visit_floating(x.dtype(), "softmax", [&]<typename T>(T) {
    map_rows<T>(
        [](T* y, const T* in, const T*, std::int64_t n) {
          const T top = cpu::row_max(in, n);
          const T scale = static_cast<T>(1.0 / cpu::row_sum_exp<true>(in, n, top, y));
#pragma omp simd
          for (std::int64_t j = 0; j < n; ++j) y[j] *= scale;
        },
        out, x, Tensor(), n);
  });
}

void log_softmax_rows(const Tensor& out, const Tensor& x, std::int64_t n) {
  visit_floating(x.dtype(), "log_softmax", [&]<typename T>(T) {
    map_rows<T>(
        [](T* y, const T* in, const T*, std::int64_t n) {
          const cpu::RowLogSumExp<T> lse = cpu::row_logsumexp(in, n);
#pragma omp simd
          for (std::int64_t j = 0; j < n; ++j) y[j] = (in[j] - lse.shift) - lse.log_sum;
        },
        out, x, Tensor(), n);
  });
}

void softmax_backward_rows(const Tensor& dx, const Tensor& y, const Tensor& grad, std::int64_t n) {
  visit_floating(y.dtype(), "softmax_backward", [&]<typename T>(T) {
    map_rows<T>(
        [](T* dx, const T* out, const T* g, std::int64_t n) {
          const T dot = static_cast<T>(cpu::row_dot(g, out, n));
#pragma omp simd
          for (std::int64_t j = 0; j < n; ++j) dx[j] = out[j] * (g[j] - dot);
        },
        dx, y, grad, n);
  });
}

void log_softmax_backward_rows(const Tensor& dx, const Tensor& y, const Tensor& grad, std::int64_t n) {
  visit_floating(y.dtype(), "log_softmax_backward", [&]<typename T>(T) {
    map_rows<T>(
        [](T* dx, const T* out, const T* g, std::int64_t n) {
          const T total = static_cast<T>(cpu::row_sum(g, n));
#pragma omp simd
          for (std::int64_t j = 0; j < n; ++j) dx[j] = g[j] - cpu::vmath::exp(out[j]) * total;
        },
        dx, y, grad, n);
  });
}

}  // namespace recgrad::cpu
