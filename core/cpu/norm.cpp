#include "core/cpu/norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/cpu/parallel.h"

namespace recgrad::cpu {
namespace {

// sum_{i < n} term(i) with 8 independent partial sums (a loop the compiler
// vectorizes), combined in a fixed order.
template <typename T, typename Term>
T lane_sum(std::int64_t n, Term term) {
  constexpr std::int64_t kLanes = 8;
  T lanes[kLanes] = {};
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (std::int64_t l = 0; l < kLanes; ++l) lanes[l] += term(i + l);
  T total = 0;
  for (; i < n; ++i) total += term(i);
  for (std::int64_t l = 0; l < kLanes; ++l) total += lanes[l];
  return total;
}

// The shared forward: `centered` selects layer_norm (subtract the mean) or rms_norm.
template <typename T>
raw::NormForward norm_forward(const Tensor& x_in, std::int64_t n, const Tensor& weight_in, const Tensor& bias_in,
                              double eps, bool centered) {
  const Tensor& x = x_in;
  const std::int64_t rows = n == 0 ? 0 : x.numel() / n;
  raw::NormForward result;
  result.output = Tensor::empty(x.shape(), x.dtype(), x.device());
  result.rstd = Tensor::empty({rows}, x.dtype(), x.device());
  if (centered) result.mean = Tensor::empty({rows}, x.dtype(), x.device());
  const Tensor& weight = weight_in;
  const Tensor& bias = bias_in;
  const T* in = x.data<T>();
  const T* w = weight.defined() ? weight.data<T>() : nullptr;
  const T* b = bias.defined() ? bias.data<T>() : nullptr;
  T* out = result.output.data<T>();
  T* mean_out = centered ? result.mean.data<T>() : nullptr;
  T* rstd_out = result.rstd.data<T>();
  const T inv_n = T(1) / static_cast<T>(n);
  cpu::parallel_for(rows, n, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const T* xr = in + r * n;
      T* yr = out + r * n;
      const T mean = centered ? lane_sum<T>(n, [&](std::int64_t i) { return xr[i]; }) * inv_n : T(0);
      const T var = lane_sum<T>(n, [&](std::int64_t i) { return (xr[i] - mean) * (xr[i] - mean); }) * inv_n;
      const T rstd = T(1) / std::sqrt(var + static_cast<T>(eps));
      if (centered) mean_out[r] = mean;
      rstd_out[r] = rstd;
      if (w && b) {
        for (std::int64_t i = 0; i < n; ++i) yr[i] = (xr[i] - mean) * rstd * w[i] + b[i];
      } else if (w) {
        for (std::int64_t i = 0; i < n; ++i) yr[i] = (xr[i] - mean) * rstd * w[i];
      } else if (b) {
        for (std::int64_t i = 0; i < n; ++i) yr[i] = (xr[i] - mean) * rstd + b[i];
      } else {
        for (std::int64_t i = 0; i < n; ++i) yr[i] = (xr[i] - mean) * rstd;
      }
    }
  });
  return result;
}

// Rows per block of the backward: weight/bias partial sums are kept per block
// and added in block order, so the result does not depend on the thread count.
constexpr std::int64_t kRowsPerBlock = 64;

// The shared backward (see the formulas in norm.h), one pass over x and g: each
// block of rows writes its dx rows and its partial column sums for dweight/dbias.
template <typename T>
raw::NormGrads norm_backward(const Tensor& grad_out, const Tensor& x_in, const raw::NormForward& saved,
                             const Tensor& weight_in, std::int64_t n, bool centered, bool need_x, bool need_weight,
                             bool need_bias) {
  const Tensor& x = x_in;
  const Tensor& g = grad_out;
  RG_CHECK(g.shape() == x.shape() && g.dtype() == x.dtype(), "norm backward: gradient ", g.shape(), " ", g.dtype(),
           " does not match the input ", x.shape(), " ", x.dtype());
  const std::int64_t rows = n == 0 ? 0 : x.numel() / n;
  const Tensor& weight = weight_in;
  const T* xd = x.data<T>();
  const T* gd = g.data<T>();
  const T* w = weight.defined() ? weight.data<T>() : nullptr;
  const T* mean = centered ? saved.mean.data<T>() : nullptr;
  const T* rstd = saved.rstd.data<T>();
  const T inv_n = T(1) / static_cast<T>(n);
  raw::NormGrads grads;
  T* dx = nullptr;
  if (need_x) {
    grads.x = Tensor::empty(x.shape(), x.dtype(), x.device());
    dx = grads.x.data<T>();
  }
  const std::int64_t blocks = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
  const std::size_t partial_size = static_cast<std::size_t>((need_weight || need_bias) ? blocks * n : 0);
  std::vector<T> partial_w(need_weight ? partial_size : 0, T(0)), partial_b(need_bias ? partial_size : 0, T(0));
  cpu::parallel_for(blocks, kRowsPerBlock * n * 2, [&](std::int64_t block_begin, std::int64_t block_end) {
    std::vector<T> gw(static_cast<std::size_t>(n)), xhat(static_cast<std::size_t>(n));
    for (std::int64_t block = block_begin; block < block_end; ++block) {
      T* pw = need_weight ? partial_w.data() + block * n : nullptr;
      T* pb = need_bias ? partial_b.data() + block * n : nullptr;
      const std::int64_t row_end = std::min(rows, (block + 1) * kRowsPerBlock);
      for (std::int64_t r = block * kRowsPerBlock; r < row_end; ++r) {
        const T* xr = xd + r * n;
        const T* gr = gd + r * n;
        const T mu = centered ? mean[r] : T(0), rs = rstd[r];
        for (std::int64_t i = 0; i < n; ++i) xhat[i] = (xr[i] - mu) * rs;
        if (pw)
          for (std::int64_t i = 0; i < n; ++i) pw[i] += gr[i] * xhat[i];
        if (pb)
          for (std::int64_t i = 0; i < n; ++i) pb[i] += gr[i];
        if (!dx) continue;
        if (w) {
          for (std::int64_t i = 0; i < n; ++i) gw[i] = gr[i] * w[i];
        } else {
          for (std::int64_t i = 0; i < n; ++i) gw[i] = gr[i];
        }
        const T avg_gw = centered ? lane_sum<T>(n, [&](std::int64_t i) { return gw[i]; }) * inv_n : T(0);
        const T avg_gw_xhat = lane_sum<T>(n, [&](std::int64_t i) { return gw[i] * xhat[i]; }) * inv_n;
        T* dr = dx + r * n;
        for (std::int64_t i = 0; i < n; ++i) dr[i] = rs * (gw[i] - avg_gw - xhat[i] * avg_gw_xhat);
      }
    }
  });
  // dweight = sum over blocks of the partials (block order), accumulated in double.
  auto reduce_blocks = [&](const std::vector<T>& partial, const Shape& shape) {
    Tensor out = Tensor::empty(shape, x.dtype(), x.device());
    T* o = out.data<T>();
    std::vector<double> acc(static_cast<std::size_t>(n), 0.0);
    for (std::int64_t block = 0; block < blocks; ++block)
      for (std::int64_t i = 0; i < n; ++i) acc[i] += static_cast<double>(partial[block * n + i]);
    for (std::int64_t i = 0; i < n; ++i) o[i] = static_cast<T>(acc[i]);
    return out;
  };
  const Shape param_shape = weight_in.defined() ? weight_in.shape() : Shape{n};
  if (need_weight) grads.weight = reduce_blocks(partial_w, param_shape);
  if (need_bias) grads.bias = reduce_blocks(partial_b, param_shape);
  return grads;
}

}  // namespace

raw::NormForward norm_forward(const Tensor& x, std::int64_t n, const Tensor& weight, const Tensor& bias, double eps,
                              bool centered) {
  const char* op = centered ? "layer_norm" : "rms_norm";
  return visit_floating(x.dtype(), op,
                        [&]<typename T>(T) { return norm_forward<T>(x, n, weight, bias, eps, centered); });
}

raw::NormGrads norm_backward(const Tensor& grad_out, const Tensor& x, const raw::NormForward& saved,
                             const Tensor& weight, const Shape& normalized_shape, bool centered, bool need_x,
                             bool need_weight, bool need_bias) {
  const char* op = centered ? "layer_norm_backward" : "rms_norm_backward";
  const std::int64_t n = numel_of(normalized_shape);
  return visit_floating(x.dtype(), op, [&]<typename T>(T) {
    return norm_backward<T>(grad_out, x, saved, weight, n, centered, need_x, need_weight, need_bias);
  });
}

}  // namespace recgrad::cpu
