#include "core/ops/reduce.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/cpu/loops.h"
#include "core/cpu/parallel.h"
#include "core/cpu/row_softmax.h"
#include "core/cpu/vec_math.h"
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

template <bool kMax>
ValuesIndices extreme_along_dim(const Tensor& input, std::int64_t dim, bool keepdim, std::string_view op) {
  const AxisLayout layout = axis_layout(input.shape(), dim, op);
  RG_CHECK(layout.size > 0 || layout.outer * layout.inner == 0, op, ": cannot reduce dimension ", layout.dim,
           " of extent 0 (input ", input.dtype(), " ", input.shape(), ")");
  if (input.is_cuda()) return cuda::extreme_along_dim(input, layout.dim, keepdim, kMax, op);
  const Shape out_shape = reduced_shape(input.shape(), layout.dim, keepdim);
  ValuesIndices out{Tensor::empty(out_shape, input.dtype(), input.device()),
                    Tensor::empty(out_shape, DType::i64, input.device())};
  const Tensor x = raw::contiguous(input);
  visit_numeric(input.dtype(), op, [&]<typename T>(T) {
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

// out[o] = row_fn(row o of the [outer, inner] reduction matrix, inner) for
// every output element, rows in parallel.
template <typename T, typename RowFn>
Tensor reduce_each_row(const Tensor& input, const ReducePlan& plan, RowFn row_fn) {
  Tensor out = Tensor::empty(plan.out_shape, input.dtype(), input.device());
  const Tensor rows = as_reduction_rows(input, plan);
  const T* data = rows.data<T>();
  T* result = out.data<T>();
  const std::int64_t inner = plan.inner;
  cpu::parallel_for(plan.outer, inner, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t o = begin; o < end; ++o) result[o] = row_fn(data + o * inner, inner);
  });
  return out;
}

template <bool kMax>
Tensor extreme_over_dims(const Tensor& input, const std::vector<std::int64_t>& dims, bool keepdim,
                         std::string_view op) {
  const ReducePlan plan = plan_reduction(input, dims, keepdim, op);
  RG_CHECK(plan.inner > 0 || plan.outer == 0, op, ": cannot reduce over zero elements (input ", input.dtype(), " ",
           input.shape(), ")");
  if (input.is_cuda()) return cuda::extreme_over_dims(input, plan, kMax, op);
  return visit_numeric(input.dtype(), op, [&]<typename T>(T) {
    return reduce_each_row<T>(input, plan, [](const T* row, std::int64_t n) {
      T best = row[0];
      for (std::int64_t i = 1; i < n; ++i) {
        if (more_extreme<kMax>(row[i], best)) best = row[i];
      }
      return best;
    });
  });
}

template <typename T>
T sign_of(T v) {
  return static_cast<T>((v > T(0)) - (v < T(0)));
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
  const double denominator = std::max<double>(0.0, static_cast<double>(plan.inner - correction));
  return visit_floating(input.dtype(), "var", [&]<typename T>(T) {
    return reduce_each_row<T>(input, plan, [denominator](const T* row, std::int64_t n) {
      double total = 0.0;
      for (std::int64_t i = 0; i < n; ++i) total += row[i];
      const double mean = total / static_cast<double>(n);
      double squares = 0.0;
      for (std::int64_t i = 0; i < n; ++i) squares += (row[i] - mean) * (row[i] - mean);
      return static_cast<T>(squares / denominator);
    });
  });
}

Tensor norm(const Tensor& input, double p, const std::vector<std::int64_t>& dims, bool keepdim) {
  const ReducePlan plan = plan_reduction(input, dims, keepdim, "norm");
  RG_CHECK(!std::isnan(p), "norm: p must not be NaN");
  if (input.is_cuda()) return cuda::norm(input, plan, p);
  return visit_floating(input.dtype(), "norm", [&]<typename T>(T) {
    return reduce_each_row<T>(input, plan, [p](const T* row, std::int64_t n) -> T {
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

Tensor logsumexp(const Tensor& input, const std::vector<std::int64_t>& dims, bool keepdim) {
  const ReducePlan plan = plan_reduction(input, dims, keepdim, "logsumexp");
  if (input.is_cuda()) return cuda::logsumexp(input, plan);
  return visit_floating(input.dtype(), "logsumexp", [&]<typename T>(T) {
    return reduce_each_row<T>(input, plan, [](const T* row, std::int64_t n) -> T {
      T top = cpu::row_max(row, n);
      if (std::isinf(top)) return top;  // all -inf, or a +inf
      return cpu::row_logsumexp(row, n).value();
    });
  });
}

Tensor scatter_selected(const Tensor& src, const Tensor& index, const Shape& shape, std::int64_t dim) {
  RG_CHECK(index.dtype() == DType::i64 && index.shape() == src.shape(), "scatter_selected: index ", index.dtype(), " ",
           index.shape(), " does not match source ", src.dtype(), " ", src.shape());
  const AxisLayout layout = axis_layout(shape, dim, "scatter_selected");
  if (src.is_cuda()) return cuda::scatter_selected(src, index, shape, layout);
  const std::int64_t count = src.dim() == 0 ? 1 : src.shape()[layout.dim];
  Tensor out = Tensor::empty(shape, src.dtype(), src.device());
  const Tensor values = raw::contiguous(src);
  const Tensor positions = raw::contiguous(index);
  visit_floating(src.dtype(), "scatter_selected", [&]<typename T>(T) {
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

Tensor share_among_ties(const Tensor& x, const Tensor& selected_kept, const Tensor& grad_kept,
                        const std::vector<std::int64_t>& dims) {
  if (x.is_cuda()) return cuda::share_among_ties(x, selected_kept, grad_kept, dims);
  const Shape& shape = x.shape();
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  visit_floating(x.dtype(), "share_among_ties", [&]<typename T>(T) {
    cpu::map<T, T, T>(
        out, [](T v, T selected) { return v == selected ? T(1) : T(0); }, x, raw::expand(selected_kept, shape));
    const Tensor ties = raw::sum(out, dims, true);
    cpu::map<T, T, T, T>(
        out, [](T is_tied, T g, T count) { return is_tied * g / count; }, out, raw::expand(grad_kept, shape),
        raw::expand(ties, shape));
  });
  return out;
}

Tensor var_backward(const Tensor& x, const Tensor& grad_kept, const std::vector<std::int64_t>& dims,
                    std::int64_t correction) {
  if (x.is_cuda()) return cuda::var_backward(x, grad_kept, dims, correction);
  const ReducePlan plan = plan_reduction(x, dims, true, "var");
  const double count = static_cast<double>(plan.inner);
  const double scale = 2.0 / std::max<double>(0.0, count - static_cast<double>(correction));
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  visit_floating(x.dtype(), "var", [&]<typename T>(T) {
    const Tensor mean = raw::sum(x, dims, true);
    cpu::map<T, T>(
        mean, [count](T total) { return static_cast<T>(total / count); }, mean);
    const T s = static_cast<T>(scale);
    cpu::map<T, T, T, T>(
        out, [s](T v, T m, T g) { return s * (v - m) * g; }, x, raw::expand(mean, x.shape()),
        raw::expand(grad_kept, x.shape()));
  });
  return out;
}

Tensor norm_backward(const Tensor& x, const Tensor& norm_kept, const Tensor& grad_kept, double p,
                     const std::vector<std::int64_t>& dims) {
  if (x.is_cuda()) return cuda::norm_backward(x, norm_kept, grad_kept, p, dims);
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
    } else if (std::isinf(p)) {
      Tensor magnitude = Tensor::empty(shape, x.dtype(), x.device());
      cpu::map<T, T>(
          magnitude, [](T v) { return std::abs(v); }, x);
      const Tensor shared = share_among_ties(magnitude, norm_kept, grad_kept, dims);
      cpu::map<T, T, T>(
          out, [](T v, T s) { return sign_of(v) * s; }, x, shared);
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
  if (x.is_cuda()) return cuda::logsumexp_backward(x, lse_kept, grad_kept);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  visit_floating(x.dtype(), "logsumexp", [&]<typename T>(T) {
    cpu::map<T, T, T, T>(
        out, [](T v, T lse, T g) { return cpu::vmath::exp(v - lse) * g; }, x, raw::expand(lse_kept, x.shape()),
        raw::expand(grad_kept, x.shape()));
  });
  return out;
}

}  // namespace recgrad::raw
