#include "core/cpu/reduce.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/cpu/loops.h"
#include "core/cpu/parallel.h"
#include "core/cpu/row_softmax.h"
#include "core/cpu/vec_math.h"
#include "core/plans/view.h"

namespace recgrad::cpu {
namespace {

template <typename T>
constexpr bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    return v != v;
  } else {
    return false;
  }
}

// True when `v` should replace `best` as the running maximum (kMax) or
// minimum: strictly more extreme, or a NaN replacing a number.
template <bool kMax, typename T>
bool more_extreme(T v, T best) {
  if (is_nan(v)) return !is_nan(best);
  return kMax ? v > best : v < best;
}

template <typename T>
T sign_of(T v) {
  return static_cast<T>((v > T(0)) - (v < T(0)));
}

// out[o] = row_fn(row o of the dense [outer, inner] reduction matrix, inner) for every output element, rows in
// parallel.
template <typename T, typename RowFn>
Tensor reduce_each_row(const Tensor& rows, const raw::ReducePlan& plan, RowFn row_fn) {
  Tensor out = Tensor::empty(plan.out_shape, rows.dtype(), rows.device());
  const T* data = rows.data<T>();
  T* result = out.data<T>();
  const std::int64_t inner = plan.inner;
  cpu::parallel_for(plan.outer, inner, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t o = begin; o < end; ++o) result[o] = row_fn(data + o * inner, inner);
  });
  return out;
}

template <bool kMax>
raw::ValuesIndices extreme_along_dim_impl(const Tensor& x, const raw::AxisLayout& layout, bool keepdim,
                                          std::string_view op) {
  const Shape out_shape = raw::reduced_shape(x.shape(), layout.dim, keepdim);
  raw::ValuesIndices out{Tensor::empty(out_shape, x.dtype(), x.device()),
                         Tensor::empty(out_shape, DType::i64, x.device())};
  visit_numeric(x.dtype(), op, [&]<typename T>(T) {
    const T* data = x.data<T>();
    T* values = out.values.data<T>();
    std::int64_t* indices = out.indices.data<std::int64_t>();
    const std::int64_t size = layout.size, inner = layout.inner;
    cpu::parallel_for(layout.outer * inner, size, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t q = begin; q < end; ++q) {
        const T* column = data + (q / inner) * size * inner + q % inner;
        T best = column[0];
        std::int64_t best_index = 0;
        for (std::int64_t j = 1; j < size; ++j) {
          const T v = column[j * inner];
          if (more_extreme<kMax>(v, best)) {
            best = v;
            best_index = j;
          }
        }
        values[q] = best;
        indices[q] = best_index;
      }
    });
  });
  return out;
}

template <bool kMax>
Tensor extreme_rows_impl(const Tensor& rows, const raw::ReducePlan& plan, std::string_view op) {
  return visit_numeric(rows.dtype(), op, [&]<typename T>(T) {
    return reduce_each_row<T>(rows, plan, [](const T* row, std::int64_t n) {
      T best = row[0];
      for (std::int64_t i = 1; i < n; ++i) {
        if (more_extreme<kMax>(row[i], best)) best = row[i];
      }
      return best;
    });
  });
}

}  // namespace

Tensor sum_columns(const Tensor& input, const raw::ReducePlan& plan) {
  Tensor out = Tensor::empty(plan.out_shape, input.dtype(), input.device());
  visit_numeric(input.dtype(), "sum", [&]<typename T>(T) {
    T* result = out.data<T>();
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, std::int64_t>;
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
  });
  return out;
}

Tensor sum_rows(const Tensor& rows, const raw::ReducePlan& plan) {
  Tensor out = Tensor::empty(plan.out_shape, rows.dtype(), rows.device());
  visit_numeric(rows.dtype(), "sum", [&]<typename T>(T) {
    T* result = out.data<T>();
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, std::int64_t>;
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

raw::ValuesIndices extreme_along_dim(const Tensor& x, int dim, bool keepdim, bool is_max, std::string_view op) {
  const raw::AxisLayout layout = raw::axis_layout(x.shape(), dim, op);
  return is_max ? extreme_along_dim_impl<true>(x, layout, keepdim, op)
                : extreme_along_dim_impl<false>(x, layout, keepdim, op);
}

Tensor extreme_rows(const Tensor& rows, const raw::ReducePlan& plan, bool is_max, std::string_view op) {
  return is_max ? extreme_rows_impl<true>(rows, plan, op) : extreme_rows_impl<false>(rows, plan, op);
}

Tensor var_rows(const Tensor& rows, const raw::ReducePlan& plan, std::int64_t correction) {
  const double denominator = std::max<double>(0.0, static_cast<double>(plan.inner - correction));
  return visit_floating(rows.dtype(), "var", [&]<typename T>(T) {
    return reduce_each_row<T>(rows, plan, [denominator](const T* row, std::int64_t n) {
      double total = 0.0;
      for (std::int64_t i = 0; i < n; ++i) total += row[i];
      const double mean = total / static_cast<double>(n);
      double squares = 0.0;
      for (std::int64_t i = 0; i < n; ++i) squares += (row[i] - mean) * (row[i] - mean);
      return static_cast<T>(squares / denominator);
    });
  });
}

Tensor norm_rows(const Tensor& rows, const raw::ReducePlan& plan, double p) {
  return visit_floating(rows.dtype(), "norm", [&]<typename T>(T) {
    return reduce_each_row<T>(rows, plan, [p](const T* row, std::int64_t n) -> T {
      if (std::isinf(p)) {
        double best = p > 0 ? 0.0 : std::numeric_limits<double>::infinity();
        for (std::int64_t i = 0; i < n; ++i) {
          const double a = std::abs(static_cast<double>(row[i]));
          if (std::isnan(a)) return static_cast<T>(a);
          best = p > 0 ? std::max(best, a) : std::min(best, a);
        }
        return static_cast<T>(best);
      }
      double total = 0.0;
      if (p == 0.0) {
        for (std::int64_t i = 0; i < n; ++i) total += row[i] != T(0) ? 1.0 : 0.0;
        return static_cast<T>(total);
      }
      if (p == 1.0) {
        for (std::int64_t i = 0; i < n; ++i) total += std::abs(static_cast<double>(row[i]));
        return static_cast<T>(total);
      }
      if (p == 2.0) {
        for (std::int64_t i = 0; i < n; ++i) total += static_cast<double>(row[i]) * row[i];
        return static_cast<T>(std::sqrt(total));
      }
      for (std::int64_t i = 0; i < n; ++i) total += std::pow(std::abs(static_cast<double>(row[i])), p);
      return static_cast<T>(std::pow(total, 1.0 / p));
    });
  });
}

Tensor logsumexp_rows(const Tensor& rows, const raw::ReducePlan& plan) {
  return visit_floating(rows.dtype(), "logsumexp", [&]<typename T>(T) {
    return reduce_each_row<T>(rows, plan, [](const T* row, std::int64_t n) -> T {
      T top = cpu::row_max(row, n);
      if (std::isinf(top)) return top;  // all -inf, or a +inf
      return cpu::row_logsumexp(row, n).value();
    });
  });
}

Tensor scatter_selected(const Tensor& values, const Tensor& positions, const Shape& shape,
                        const raw::AxisLayout& layout) {
  const std::int64_t count = values.dim() == 0 ? 1 : values.shape()[layout.dim];
  Tensor out = Tensor::empty(shape, values.dtype(), values.device());
  visit_floating(values.dtype(), "scatter_selected", [&]<typename T>(T) {
    T* result = out.data<T>();
    const T* value = values.data<T>();
    const std::int64_t* position = positions.data<std::int64_t>();
    std::fill(result, result + out.numel(), T(0));
    const std::int64_t size = layout.size, inner = layout.inner;
    cpu::parallel_for(layout.outer * inner, count, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t q = begin; q < end; ++q) {
        const std::int64_t o = q / inner, i = q % inner;
        T* column = result + o * size * inner + i;
        for (std::int64_t j = 0; j < count; ++j) {
          const std::int64_t from = (o * count + j) * inner + i;
          column[position[from] * inner] += value[from];
        }
      }
    });
  });
  return out;
}

void mark_ties(const Tensor& out, const Tensor& x, const Tensor& selected) {
  visit_floating(x.dtype(), "share_among_ties", [&]<typename T>(T) {
    cpu::map<T, T, T>(
        out, [](T v, T s) { return v == s ? T(1) : T(0); }, x, selected);
  });
}

void share_among_ties_(const Tensor& out, const Tensor& grad, const Tensor& ties) {
  visit_floating(out.dtype(), "share_among_ties", [&]<typename T>(T) {
    cpu::map<T, T, T, T>(
        out, [](T is_tied, T g, T count) { return is_tied * g / count; }, out, grad, ties);
  });
}

Tensor var_backward(const Tensor& x, const Tensor& total, const Tensor& grad_kept, double count, double scale) {
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  visit_floating(x.dtype(), "var", [&]<typename T>(T) {
    const Tensor& mean = total;  // divided in place
    cpu::map<T, T>(
        mean, [count](T total) { return static_cast<T>(total / count); }, mean);
    const T s = static_cast<T>(scale);
    cpu::map<T, T, T, T>(
        out, [s](T v, T m, T g) { return s * (v - m) * g; }, x, raw::expand(mean, x.shape()),
        raw::expand(grad_kept, x.shape()));
  });
  return out;
}

Tensor magnitude(const Tensor& x) {
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  visit_floating(x.dtype(), "norm", [&]<typename T>(T) {
    cpu::map<T, T>(
        out, [](T v) { return std::abs(v); }, x);
  });
  return out;
}

Tensor sign_times(const Tensor& x, const Tensor& shared) {
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  visit_floating(x.dtype(), "norm", [&]<typename T>(T) {
    cpu::map<T, T, T>(
        out, [](T v, T s) { return sign_of(v) * s; }, x, shared);
  });
  return out;
}

Tensor norm_backward(const Tensor& x, const Tensor& norm_kept, const Tensor& grad_kept, double p) {
  const Shape& shape = x.shape();
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  visit_floating(x.dtype(), "norm", [&]<typename T>(T) {
    const Tensor n = raw::expand(norm_kept, shape);
    const Tensor g = raw::expand(grad_kept, shape);
    if (p == 0.0) {
      cpu::map<T>(out, []() { return T(0); });
    } else if (p == 1.0) {
      cpu::map<T, T, T>(
          out, [](T v, T gv) { return sign_of(v) * gv; }, x, g);
    } else if (p == 2.0) {
      cpu::map<T, T, T, T>(
          out, [](T v, T nv, T gv) { return nv == T(0) ? T(0) : v / nv * gv; }, x, n, g);
    } else {
      const T power = static_cast<T>(p - 1.0);
      cpu::map<T, T, T, T>(
          out,
          [power](T v, T nv, T gv) {
            // An element at 0 gets 0: |x|^(p-1) is infinite there for p < 1 (torch does the same).
            return nv == T(0) || v == T(0) ? T(0) : sign_of(v) * std::pow(std::abs(v) / nv, power) * gv;
          },
          x, n, g);
    }
  });
  return out;
}

Tensor logsumexp_backward(const Tensor& x, const Tensor& lse_kept, const Tensor& grad_kept) {
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  visit_floating(x.dtype(), "logsumexp", [&]<typename T>(T) {
    cpu::map<T, T, T, T>(
        out, [](T v, T lse, T g) { return cpu::vmath::exp(v - lse) * g; }, x, raw::expand(lse_kept, x.shape()),
        raw::expand(grad_kept, x.shape()));
  });
  return out;
}

}  // namespace recgrad::cpu
