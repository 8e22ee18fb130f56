// layer_norm / rms_norm on CUDA (see core/cuda/norm.h).
//
// Rows are independent, so a "team" of threads owns one row at a time: a warp for rows of up to
// kWarpRowMax elements (several rows per block, no __syncthreads), the whole block for wider rows.
// A team sums its row with warp shuffles (and shared memory for a block) in a fixed order.
//   forward:       sum -> mean, sum of squared deviations -> rstd, then y; mean/rstd saved per row.
//   backward dx:   sum(gw) and sum(gw * xhat) in one pass, then dx in a second.
//   dweight/dbias: a column reduction over rows without atomics: one thread per (block of 64 rows,
//                  column) writes a partial sum, then one thread per column adds the partials in block
//                  order in double. These are the CPU's blocks and order, so both devices round alike.
#include <algorithm>
#include <cmath>

#include "core/cuda/kernel_utils.cuh"
#include "core/cuda/norm.h"
#include "core/cuda/runtime_check.h"

namespace recgrad::cuda {
namespace {

/// Widest row a single warp handles; wider rows get a whole block.
constexpr std::int64_t kWarpRowMax = 2048;
/// Rows per partial sum of the weight/bias gradients (core/ops/norm.cpp's kRowsPerBlock).
constexpr std::int64_t kRowsPerPartial = 64;

__device__ __forceinline__ float sqrt_of(float x) { return sqrtf(x); }
__device__ __forceinline__ double sqrt_of(double x) { return sqrt(x); }

/// The threads that own one row: a warp (kBlockPerRow false) or the whole block. Rows are visited with a
/// grid-stride loop, so every thread of a team runs the same iterations (the block reductions need that).
template <bool kBlockPerRow>
struct RowTeam {
  /// This thread's place in the team, and the team's size: the thread reads columns rank, rank + size, ...
  __device__ static int rank() { return kBlockPerRow ? threadIdx.x : threadIdx.x % kWarpSize; }
  __device__ static int size() { return kBlockPerRow ? blockDim.x : kWarpSize; }
  __device__ static std::int64_t first_row() {
    return kBlockPerRow ? blockIdx.x
                        : static_cast<std::int64_t>(blockIdx.x) * (blockDim.x / kWarpSize) + threadIdx.x / kWarpSize;
  }
  __device__ static std::int64_t row_step() {
    return kBlockPerRow ? gridDim.x : static_cast<std::int64_t>(gridDim.x) * (blockDim.x / kWarpSize);
  }
  /// Sum of `value` over the team; every thread of the team gets it.
  template <typename T>
  __device__ static T sum(T value, T* scratch) {
    if constexpr (kBlockPerRow) {
      return block_sum(value, scratch);
    } else {
      return warp_sum(value);
    }
  }
};

/// One team per row of the dense [rows, n] input: mean/rstd (see norm.h) and y. weight, bias and mean_out may
/// be null (no weight, no bias, rms_norm).
template <typename T, bool kBlockPerRow>
__global__ void norm_forward_kernel(const T* __restrict__ x, const T* __restrict__ weight, const T* __restrict__ bias,
                                    std::int64_t rows, std::int64_t n, T eps, bool centered, T* __restrict__ y,
                                    T* __restrict__ mean_out, T* __restrict__ rstd_out) {
  using Team = RowTeam<kBlockPerRow>;
  __shared__ T scratch[kWarpSize];
  const T inv_n = T(1) / static_cast<T>(n);
  const int first = Team::rank(), step = Team::size();
  for (std::int64_t row = Team::first_row(); row < rows; row += Team::row_step()) {
    const T* xr = x + row * n;
    T* yr = y + row * n;
    T mean = T(0);
    if (centered) {
      T total = T(0);
      for (std::int64_t j = first; j < n; j += step) total += xr[j];
      mean = Team::sum(total, scratch) * inv_n;
    }
    // Two passes (mean first, then squared deviations), as on the CPU: no cancellation in the variance.
    T squares = T(0);
    for (std::int64_t j = first; j < n; j += step) {
      const T deviation = xr[j] - mean;
      squares += deviation * deviation;
    }
    const T variance = Team::sum(squares, scratch) * inv_n;
    const T rstd = T(1) / sqrt_of(variance + eps);
    if (first == 0) {
      if (mean_out) mean_out[row] = mean;
      rstd_out[row] = rstd;
    }
    for (std::int64_t j = first; j < n; j += step) {
      T value = (xr[j] - mean) * rstd;
      if (weight) value *= weight[j];
      if (bias) value += bias[j];
      yr[j] = value;
    }
  }
}

/// One team per row: dx = rstd * (gw - avg(gw) - xhat * avg(gw * xhat)) (avg(gw) only when centered).
template <typename T, bool kBlockPerRow>
__global__ void norm_backward_x_kernel(const T* __restrict__ grad, const T* __restrict__ x,
                                       const T* __restrict__ weight, const T* __restrict__ mean,
                                       const T* __restrict__ rstd, std::int64_t rows, std::int64_t n, bool centered,
                                       T* __restrict__ dx) {
  using Team = RowTeam<kBlockPerRow>;
  __shared__ T scratch[kWarpSize];
  const T inv_n = T(1) / static_cast<T>(n);
  const int first = Team::rank(), step = Team::size();
  for (std::int64_t row = Team::first_row(); row < rows; row += Team::row_step()) {
    const T* xr = x + row * n;
    const T* gr = grad + row * n;
    T* dr = dx + row * n;
    const T mu = centered ? mean[row] : T(0), rs = rstd[row];
    T sum_gw = T(0), sum_gw_xhat = T(0);
    for (std::int64_t j = first; j < n; j += step) {
      const T xhat = (xr[j] - mu) * rs;
      const T gw = weight ? gr[j] * weight[j] : gr[j];
      sum_gw += gw;
      sum_gw_xhat += gw * xhat;
    }
    const T avg_gw = centered ? Team::sum(sum_gw, scratch) * inv_n : T(0);
    const T avg_gw_xhat = Team::sum(sum_gw_xhat, scratch) * inv_n;
    for (std::int64_t j = first; j < n; j += step) {
      const T xhat = (xr[j] - mu) * rs;
      const T gw = weight ? gr[j] * weight[j] : gr[j];
      dr[j] = rs * (gw - avg_gw - xhat * avg_gw_xhat);
    }
  }
}

/// One thread per (block b of kRowsPerPartial rows, column j), consecutive threads on consecutive columns
/// (coalesced): partial_w[b, j] = sum_r g[r, j] * xhat[r, j], partial_b[b, j] = sum_r g[r, j], summed in T in
/// row order. Either output may be null.
template <typename T>
__global__ void norm_column_partials_kernel(const T* __restrict__ grad, const T* __restrict__ x,
                                            const T* __restrict__ mean, const T* __restrict__ rstd, std::int64_t rows,
                                            std::int64_t n, std::int64_t blocks, T* __restrict__ partial_w,
                                            T* __restrict__ partial_b) {
  for (std::int64_t index = grid_first(); index < blocks * n; index += grid_step()) {
    const std::int64_t block = index / n, column = index - block * n;
    const std::int64_t row_end = min(rows, (block + 1) * kRowsPerPartial);
    T sum_w = T(0), sum_b = T(0);
    // Unrolled so several rows' loads are in flight at once; the additions stay in row order.
#pragma unroll 8
    for (std::int64_t r = block * kRowsPerPartial; r < row_end; ++r) {
      const T g = grad[r * n + column];
      if (partial_w) {
        const T xhat = (x[r * n + column] - (mean ? mean[r] : T(0))) * rstd[r];
        sum_w += g * xhat;
      }
      sum_b += g;
    }
    if (partial_w) partial_w[index] = sum_w;
    if (partial_b) partial_b[index] = sum_b;
  }
}

/// out[j] = sum over blocks b (in order, in double) of partial[b, j].
template <typename T>
__global__ void sum_partials_kernel(const T* __restrict__ partial, std::int64_t blocks, std::int64_t n,
                                    T* __restrict__ out) {
  for (std::int64_t column = grid_first(); column < n; column += grid_step()) {
    double total = 0.0;
#pragma unroll 8
    for (std::int64_t block = 0; block < blocks; ++block) total += static_cast<double>(partial[block * n + column]);
    out[column] = static_cast<T>(total);
  }
}

/// Launches `kernel<T, kBlockPerRow>` with one team per row: warps for narrow rows, blocks for wide ones.
template <typename T, typename WarpKernel, typename BlockKernel, typename... Args>
void launch_per_row(WarpKernel warp_kernel, BlockKernel block_kernel, std::int64_t rows, std::int64_t n, const char* op,
                    Args... args) {
  if (n <= kWarpRowMax) {
    const std::int64_t rows_per_block = kThreads / kWarpSize;
    const std::int64_t blocks = std::clamp<std::int64_t>((rows + rows_per_block - 1) / rows_per_block, 1, 1 << 30);
    warp_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream()>>>(args...);
  } else {
    const int threads = n >= 16 * 1024 ? 1024 : kThreads;
    const std::int64_t blocks = std::clamp<std::int64_t>(rows, 1, 1 << 30);
    block_kernel<<<static_cast<unsigned>(blocks), threads, 0, stream()>>>(args...);
  }
  RG_CUDA_CHECK_LAUNCH(op);
}

/// The column sum (dweight or dbias) of shape `shape` from [blocks, n] partials.
template <typename T>
Tensor sum_partials(const Tensor& partial, std::int64_t blocks, std::int64_t n, const Shape& shape, const Tensor& x,
                    const char* op) {
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  if (n == 0) return out;
  sum_partials_kernel<T><<<grid_for(n), kThreads, 0, stream()>>>(static_cast<const T*>(partial.device_pointer()),
                                                                 blocks, n, static_cast<T*>(out.device_pointer()));
  RG_CUDA_CHECK_LAUNCH(op);
  return out;
}

}  // namespace

raw::NormForward norm_forward(const Tensor& x_in, std::int64_t n, const Tensor& weight_in, const Tensor& bias_in,
                              double eps, bool centered) {
  const char* op = centered ? "layer_norm (CUDA)" : "rms_norm (CUDA)";
  for (const Tensor* param : {&weight_in, &bias_in}) {
    RG_CHECK(!param->defined() || param->device() == x_in.device(), op, ": ", param == &weight_in ? "weight" : "bias",
             " on ", param->device(), " but the input on ", x_in.device());
  }
  const Tensor& x = x_in;
  const std::int64_t rows = n == 0 ? 0 : x.numel() / n;
  raw::NormForward result;
  result.output = Tensor::empty(x.shape(), x.dtype(), x.device());
  result.rstd = Tensor::empty({rows}, x.dtype(), x.device());
  if (centered) result.mean = Tensor::empty({rows}, x.dtype(), x.device());
  if (rows == 0) return result;
  const DeviceGuard guard(x.device().index, op);
  const Tensor& weight = weight_in;
  const Tensor& bias = bias_in;
  visit_floating(x.dtype(), op, [&]<typename T>(T) {
    T* mean = centered ? static_cast<T*>(result.mean.device_pointer()) : nullptr;
    launch_per_row<T>(norm_forward_kernel<T, false>, norm_forward_kernel<T, true>, rows, n, op,
                      static_cast<const T*>(x.device_pointer()), pointer_or_null<T>(weight), pointer_or_null<T>(bias),
                      rows, n, static_cast<T>(eps), centered, static_cast<T*>(result.output.device_pointer()), mean,
                      static_cast<T*>(result.rstd.device_pointer()));
  });
  return result;
}

raw::NormGrads norm_backward(const Tensor& grad_out, const Tensor& x_in, const raw::NormForward& saved,
                             const Tensor& weight_in, const Shape& normalized_shape, bool centered, bool need_x,
                             bool need_weight, bool need_bias) {
  const char* op = centered ? "layer_norm_backward (CUDA)" : "rms_norm_backward (CUDA)";
  // The CPU's check, with its message.
  RG_CHECK(grad_out.shape() == x_in.shape() && grad_out.dtype() == x_in.dtype(), "norm backward: gradient ",
           grad_out.shape(), " ", grad_out.dtype(), " does not match the input ", x_in.shape(), " ", x_in.dtype());
  RG_CHECK(grad_out.device() == x_in.device() && (!weight_in.defined() || weight_in.device() == x_in.device()), op,
           ": gradient on ", grad_out.device(), ", input on ", x_in.device(), ", weight on ",
           weight_in.defined() ? weight_in.device() : x_in.device());
  const std::int64_t n = numel_of(normalized_shape);
  const Tensor& x = x_in;
  const Tensor& g = grad_out;
  const std::int64_t rows = n == 0 ? 0 : x.numel() / n;
  const Tensor& weight = weight_in;
  raw::NormGrads grads;
  if (need_x) grads.x = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (!need_x && !need_weight && !need_bias) return grads;
  const DeviceGuard guard(x.device().index, op);
  visit_floating(x.dtype(), op, [&]<typename T>(T) {
    const T* mean = centered ? static_cast<const T*>(saved.mean.device_pointer()) : nullptr;
    const T* rstd = static_cast<const T*>(saved.rstd.device_pointer());
    const T* xd = static_cast<const T*>(x.device_pointer());
    const T* gd = static_cast<const T*>(g.device_pointer());
    if (need_x && rows > 0) {
      launch_per_row<T>(norm_backward_x_kernel<T, false>, norm_backward_x_kernel<T, true>, rows, n, op, gd, xd,
                        pointer_or_null<T>(weight), mean, rstd, rows, n, centered,
                        static_cast<T*>(grads.x.device_pointer()));
    }
    if (!need_weight && !need_bias) return;
    const std::int64_t blocks = (rows + kRowsPerPartial - 1) / kRowsPerPartial;
    const Tensor partial_w = need_weight ? Tensor::empty({blocks, n}, x.dtype(), x.device()) : Tensor();
    const Tensor partial_b = need_bias ? Tensor::empty({blocks, n}, x.dtype(), x.device()) : Tensor();
    if (blocks * n > 0) {
      norm_column_partials_kernel<T><<<grid_for(blocks * n), kThreads, 0, stream()>>>(
          gd, xd, mean, rstd, rows, n, blocks, need_weight ? static_cast<T*>(partial_w.device_pointer()) : nullptr,
          need_bias ? static_cast<T*>(partial_b.device_pointer()) : nullptr);
      RG_CUDA_CHECK_LAUNCH(op);
    }
    if (need_weight) grads.weight = sum_partials<T>(partial_w, blocks, n, normalized_shape, x, op);
    if (need_bias) grads.bias = sum_partials<T>(partial_b, blocks, n, normalized_shape, x, op);
  });
  return grads;
}

}  // namespace recgrad::cuda
