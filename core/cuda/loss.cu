// Loss kernels on CUDA (see core/cuda/loss.h).
//
// Cross-entropy over [N, C] logits, C up to ~100k classes:
//   forward:  one block per row. Each thread walks its columns once keeping an "online softmax" state
//             (running max m, running sum s of exp(x - m), rescaled when m grows), the block merges the
//             states in a fixed shuffle order, and thread 0 writes row_max, row_log_sum = log(s) and the loss.
//             The probabilities are never stored.
//   backward: one pass writing dlogits = w (exp(x - row_max - row_log_sum) - ls / C - (1 - ls) [j == t]).
// Targets are checked by a one-block kernel that also counts the rows that are not ignored; its three
// numbers (counted, first bad row, its target) are read back once per forward call, after the forward kernel
// has been queued. That read is the forward's only host synchronisation, and it is needed anyway: the caller
// receives `counted` on the host to divide by for the mean reduction.
//
// Everything is deterministic: the reductions combine values in a fixed order and there are no atomics.
#include <algorithm>
#include <cmath>

#include "core/cuda/elementwise.cuh"
#include "core/cuda/kernel_utils.cuh"
#include "core/cuda/loss.h"
#include "core/cuda/memcpy.h"
#include "core/cuda/runtime_check.h"

namespace recgrad::cuda {
namespace {

// ---- device math in the element type (the accurate functions, not the fast intrinsics) ----

__device__ __forceinline__ float exp_of(float x) { return expf(x); }
__device__ __forceinline__ double exp_of(double x) { return exp(x); }
__device__ __forceinline__ float log1p_of(float x) { return log1pf(x); }
__device__ __forceinline__ double log1p_of(double x) { return log1p(x); }

// INFINITY and NAN (the <cmath> macros) are constants that device code may use; std::numeric_limits is host-only.
template <typename T>
__device__ __forceinline__ T negative_infinity() {
  return -static_cast<T>(INFINITY);
}

// ---- cross-entropy forward ----

/// Online softmax state of a set of values: their max and sum_k exp(x_k - max). The sum is kept in
/// double, as the CPU keeps its row sums (a row of 100k exponentials stays accurate to ~1e-15).
template <typename T>
struct MaxSum {
  T max;
  double sum;
};

/// Adds one value: one exponential per value; the sum is rescaled only when the max grows.
/// -inf values add nothing (as on the CPU: a row of only -inf keeps sum 0, so log_sum = -inf).
template <typename T>
__device__ __forceinline__ void add_value(MaxSum<T>& state, T x) {
  if (x > state.max) {
    // exp(-inf - x) = 0 when this is the first finite value.
    state.sum = state.sum * static_cast<double>(exp_of(state.max - x)) + 1.0;
    state.max = x;
  } else if (x != negative_infinity<T>()) {
    state.sum += static_cast<double>(exp_of(x - state.max));
  }
}

/// The state of the union of two sets: both sums rescaled to the larger max.
template <typename T>
__device__ __forceinline__ MaxSum<T> combine(MaxSum<T> a, MaxSum<T> b) {
  const T top = a.max > b.max ? a.max : b.max;
  if (top == negative_infinity<T>()) return {top, 0.0};
  return {top, a.sum * static_cast<double>(exp_of(a.max - top)) + b.sum * static_cast<double>(exp_of(b.max - top))};
}

/// Merges the states of all threads of the block (butterfly shuffles in each warp, then the warps' states
/// through shared memory). Thread 0 holds the merged state; the order is fixed, so it is deterministic.
template <typename T>
__device__ MaxSum<T> block_combine(MaxSum<T> state, T* scratch_max, double* scratch_sum) {
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  const int warps = (blockDim.x + kWarpSize - 1) / kWarpSize;
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
    state = combine(state, MaxSum<T>{__shfl_xor_sync(0xffffffffu, state.max, offset),
                                     __shfl_xor_sync(0xffffffffu, state.sum, offset)});
  }
  __syncthreads();  // the scratch may still be read by a previous reduction
  if (lane == 0) {
    scratch_max[warp] = state.max;
    scratch_sum[warp] = state.sum;
  }
  __syncthreads();
  state = lane < warps ? MaxSum<T>{scratch_max[lane], scratch_sum[lane]} : MaxSum<T>{negative_infinity<T>(), 0.0};
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
    state = combine(state, MaxSum<T>{__shfl_xor_sync(0xffffffffu, state.max, offset),
                                     __shfl_xor_sync(0xffffffffu, state.sum, offset)});
  }
  return state;
}

/// Loads per thread in flight at once in the row loops (independent loads hide memory latency).
constexpr int kUnroll = 4;

/// One block per row (grid-stride over rows): row_max[i], row_log_sum[i] and losses[i] as in loss.h.
/// A target outside [0, C) (reported by the host from check_targets_kernel) gives a NaN loss and is
/// never used as an address.
template <typename T, typename Index>
__global__ void cross_entropy_forward_kernel(const T* __restrict__ logits, std::int64_t rows, std::int64_t classes,
                                             std::int64_t row_stride, const Index* __restrict__ targets,
                                             std::int64_t target_stride, std::int64_t ignore_index,
                                             double label_smoothing, T* __restrict__ losses, T* __restrict__ row_max,
                                             T* __restrict__ row_log_sum) {
  __shared__ T scratch_max[kWarpSize];
  __shared__ double scratch_sum[kWarpSize];
  const bool smoothing = label_smoothing > 0.0;
  const std::int64_t step = blockDim.x;
  for (std::int64_t i = blockIdx.x; i < rows; i += gridDim.x) {
    const T* row = logits + i * row_stride;
    MaxSum<T> state{negative_infinity<T>(), 0.0};
    double row_total = 0.0;  // sum_j x_ij, only for label smoothing
    std::int64_t j = threadIdx.x;
    for (; j + (kUnroll - 1) * step < classes; j += kUnroll * step) {
      T values[kUnroll];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) values[u] = row[j + u * step];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        add_value(state, values[u]);
        if (smoothing) row_total += static_cast<double>(values[u]);
      }
    }
    for (; j < classes; j += step) {
      add_value(state, row[j]);
      if (smoothing) row_total += static_cast<double>(row[j]);
    }
    state = block_combine(state, scratch_max, scratch_sum);
    if (smoothing) row_total = block_sum(row_total, scratch_sum);
    if (threadIdx.x != 0) continue;

    // -log p_t = log_sum - (x_t - max); smoothing averages -log p_j over all j (as on the CPU, in double).
    const double log_sum = log(state.sum);
    const double top = static_cast<double>(state.max);
    row_max[i] = state.max;
    row_log_sum[i] = static_cast<T>(log_sum);
    const std::int64_t target = static_cast<std::int64_t>(targets[i * target_stride]);
    if (target == ignore_index) {
      losses[i] = T(0);
    } else if (target < 0 || target >= classes) {
      losses[i] = static_cast<T>(NAN);
    } else {
      const double nll = log_sum - (static_cast<double>(row[target]) - top);
      const double mean_nll = log_sum - (row_total / static_cast<double>(classes) - top);
      losses[i] = static_cast<T>(smoothing ? (1.0 - label_smoothing) * nll + label_smoothing * mean_nll : nll);
    }
  }
}

/// One block over all N targets: status[0] = rows whose target is not ignore_index, status[1] = the first
/// row whose target is neither ignore_index nor in [0, C) (N when there is none), status[2] = that target.
template <typename Index>
__global__ void check_targets_kernel(const Index* __restrict__ targets, std::int64_t rows, std::int64_t target_stride,
                                     std::int64_t classes, std::int64_t ignore_index, std::int64_t* status) {
  __shared__ std::int64_t scratch[kWarpSize];
  std::int64_t counted = 0, first_bad = rows;
  for (std::int64_t i = threadIdx.x; i < rows; i += blockDim.x) {
    const std::int64_t target = static_cast<std::int64_t>(targets[i * target_stride]);
    if (target == ignore_index) continue;
    ++counted;
    if ((target < 0 || target >= classes) && i < first_bad) first_bad = i;
  }
  counted = block_sum(counted, scratch);
  // min over the block = -max(-first_bad).
  first_bad = -block_max(-first_bad, scratch, -rows);
  if (threadIdx.x == 0) {
    status[0] = counted;
    status[1] = first_bad;
    status[2] = first_bad < rows ? static_cast<std::int64_t>(targets[first_bad * target_stride]) : 0;
  }
}

/// Threads per forward block: about 16 columns per thread, between one warp and 1024 threads.
int forward_threads(std::int64_t classes) {
  int threads = kWarpSize;
  while (threads < 1024 && threads * std::int64_t{16} < classes) threads *= 2;
  return threads;
}

/// Blocks for a grid-stride loop over `rows` rows, one block at a time per row.
unsigned row_blocks(std::int64_t rows) {
  return static_cast<unsigned>(std::clamp<std::int64_t>(rows, 1, std::int64_t{1} << 30));
}

// ---- cross-entropy backward ----

/// Columns one backward block covers per row: kThreads threads, kBackwardColumnsPerThread columns each.
constexpr int kBackwardColumnsPerThread = 8;
constexpr std::int64_t kBackwardColumns = std::int64_t{kThreads} * kBackwardColumnsPerThread;

/// Grid x: rows (grid-stride), grid y: chunks of kBackwardColumns columns (grid-stride). logits and
/// dlogits are dense [rows, classes]; row_grad (may be null: 1) is read with its stride (0 for a broadcast).
template <typename T, typename Index>
__global__ void cross_entropy_backward_kernel(const T* __restrict__ logits, std::int64_t rows, std::int64_t classes,
                                              const Index* __restrict__ targets, std::int64_t target_stride,
                                              const T* __restrict__ row_max, const T* __restrict__ row_log_sum,
                                              const T* __restrict__ row_grad, std::int64_t row_grad_stride,
                                              double scale, std::int64_t ignore_index, double label_smoothing, T smooth,
                                              T* __restrict__ dlogits) {
  for (std::int64_t i = blockIdx.x; i < rows; i += gridDim.x) {
    const T* x = logits + i * classes;
    T* dx = dlogits + i * classes;
    const std::int64_t target = static_cast<std::int64_t>(targets[i * target_stride]);
    const bool ignored = target == ignore_index;
    // Same rounding steps as the CPU: w in double then T, and the products in T.
    const T w = static_cast<T>(scale * (row_grad ? static_cast<double>(row_grad[i * row_grad_stride]) : 1.0));
    const T top = row_max[i], log_sum = row_log_sum[i], shifted_smooth = w * smooth;
    const T target_weight = w * static_cast<T>(1.0 - label_smoothing);
    for (std::int64_t chunk = blockIdx.y; chunk * kBackwardColumns < classes; chunk += gridDim.y) {
      const std::int64_t begin = chunk * kBackwardColumns + threadIdx.x;
      const std::int64_t end = classes < (chunk + 1) * kBackwardColumns ? classes : (chunk + 1) * kBackwardColumns;
      if (ignored) {
        for (std::int64_t j = begin; j < end; j += blockDim.x) dx[j] = T(0);
        continue;
      }
      // At most kBackwardColumnsPerThread columns per thread; unrolled so the loads are issued together.
#pragma unroll
      for (int u = 0; u < kBackwardColumnsPerThread; ++u) {
        const std::int64_t j = begin + static_cast<std::int64_t>(u) * blockDim.x;
        if (j >= end) break;
        T value = w * exp_of((x[j] - top) - log_sum) - shifted_smooth;
        if (j == target) value -= target_weight;
        dx[j] = value;
      }
    }
  }
}

// ---- binary cross-entropy on logits (elementwise, through launch_map) ----

template <typename T>
__device__ __forceinline__ T stable_sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + exp_of(-x));
  const T e = exp_of(x);
  return e / (T(1) + e);
}

/// max(x, 0) - x t + log(1 + exp(-|x|)); `x < 0 ? 0 : x` is std::max(x, 0) exactly (NaN stays NaN).
template <typename T>
struct BinaryCrossEntropy {
  __device__ T operator()(T x, T t) const {
    const T magnitude = x < T(0) ? -x : x;
    return (x < T(0) ? T(0) : x) - x * t + log1p_of(exp_of(-magnitude));
  }
};

/// d/dx = (sigmoid(x) - t) g scale.
template <typename T>
struct BinaryCrossEntropyLogitsGrad {
  T scale;
  __device__ T operator()(T x, T t, T g) const { return (stable_sigmoid(x) - t) * g * scale; }
};

/// d/dt = -x g scale.
template <typename T>
struct BinaryCrossEntropyTargetsGrad {
  T scale;
  __device__ T operator()(T x, T g) const { return -x * g * scale; }
};

}  // namespace

raw::CrossEntropyRows cross_entropy_rows(const Tensor& logits, const Tensor& targets, std::int64_t ignore_index,
                                         double label_smoothing) {
  const char* op = "cross_entropy (CUDA)";
  const std::int64_t rows = logits.shape()[0], classes = logits.shape()[1];
  raw::CrossEntropyRows out;
  out.losses = Tensor::empty({rows}, logits.dtype(), logits.device());
  out.row_max = Tensor::empty({rows}, logits.dtype(), logits.device());
  out.row_log_sum = Tensor::empty({rows}, logits.dtype(), logits.device());
  if (rows == 0) return out;
  const DeviceGuard guard(logits.device().index, op);
  const Tensor& x = logits;  // unit column stride, any row stride (the raw op made sure)
  const std::int64_t row_stride = x.strides()[0];
  Tensor status = Tensor::empty({3}, DType::i64, logits.device());
  visit_floating(logits.dtype(), "cross_entropy", [&]<typename T>(T) {
    visit_index(targets.dtype(), "cross_entropy", [&]<typename Index>(Index) {
      const Index* target_data = static_cast<const Index*>(targets.device_pointer());
      check_targets_kernel<Index><<<1, 1024, 0, stream()>>>(target_data, rows, targets.strides()[0], classes,
                                                            ignore_index,
                                                            static_cast<std::int64_t*>(status.device_pointer()));
      RG_CUDA_CHECK_LAUNCH(op);
      cross_entropy_forward_kernel<T, Index><<<row_blocks(rows), forward_threads(classes), 0, stream()>>>(
          static_cast<const T*>(x.device_pointer()), rows, classes, row_stride, target_data, targets.strides()[0],
          ignore_index, label_smoothing, static_cast<T*>(out.losses.device_pointer()),
          static_cast<T*>(out.row_max.device_pointer()), static_cast<T*>(out.row_log_sum.device_pointer()));
      RG_CUDA_CHECK_LAUNCH(op);
    });
  });
  // The one synchronisation of the forward (also surfaces any error of the kernels above).
  std::int64_t host_status[3] = {};
  copy_bytes(host_status, Device::cpu(), status.device_pointer(), status.device(), sizeof host_status, op);
  const std::int64_t first_bad = host_status[1];
  RG_CHECK(first_bad == rows, "cross_entropy: target ", host_status[2], " at row ", first_bad, " is out of range [0, ",
           classes, ") (ignore_index is ", ignore_index, ")");
  out.counted = host_status[0];
  return out;
}

Tensor cross_entropy_backward(const Tensor& logits, const Tensor& targets, const raw::CrossEntropyRows& rows,
                              const Tensor& row_grad, double scale, std::int64_t ignore_index, double label_smoothing) {
  const char* op = "cross_entropy backward (CUDA)";
  const std::int64_t n = logits.shape()[0], classes = logits.shape()[1];
  Tensor out = Tensor::empty(logits.shape(), logits.dtype(), logits.device());
  if (n == 0 || classes == 0) return out;
  const DeviceGuard guard(logits.device().index, op);
  const Tensor& x = logits;         // dense (the raw op made sure)
  const Tensor& weight = row_grad;  // in the logits' dtype (the raw op converted it)
  RG_CHECK(!weight.defined() || weight.dim() == 0 || (weight.dim() == 1 && weight.shape()[0] == n),
           "cross_entropy backward: row gradient of shape ", row_grad.shape(), " for ", n, " rows");
  RG_CHECK(!weight.defined() || weight.device() == logits.device(), "cross_entropy backward: row gradient on ",
           weight.device(), " but logits on ", logits.device());
  const std::int64_t chunks = (classes + kBackwardColumns - 1) / kBackwardColumns;
  const dim3 grid(row_blocks(n), static_cast<unsigned>(std::min<std::int64_t>(chunks, 65535)));
  visit_floating(logits.dtype(), "cross_entropy", [&]<typename T>(T) {
    visit_index(targets.dtype(), "cross_entropy", [&]<typename Index>(Index) {
      const T smooth = static_cast<T>(label_smoothing / static_cast<double>(classes));
      cross_entropy_backward_kernel<T, Index><<<grid, kThreads, 0, stream()>>>(
          static_cast<const T*>(x.device_pointer()), n, classes, static_cast<const Index*>(targets.device_pointer()),
          targets.strides()[0], static_cast<const T*>(rows.row_max.device_pointer()),
          static_cast<const T*>(rows.row_log_sum.device_pointer()),
          weight.defined() ? static_cast<const T*>(weight.device_pointer()) : nullptr,
          weight.defined() && weight.dim() == 1 ? weight.strides()[0] : 0, scale, ignore_index, label_smoothing, smooth,
          static_cast<T*>(out.device_pointer()));
      RG_CUDA_CHECK_LAUNCH(op);
    });
  });
  return out;
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets) {
  RG_CHECK(targets.device() == logits.device(), "binary_cross_entropy_with_logits: logits on ", logits.device(),
           " but targets on ", targets.device());
  Tensor out = Tensor::empty(logits.shape(), logits.dtype(), logits.device());
  visit_floating(logits.dtype(), "binary_cross_entropy_with_logits", [&]<typename T>(T) {
    launch_map<T, T, T>("binary_cross_entropy_with_logits (CUDA)", out, BinaryCrossEntropy<T>{}, logits, targets);
  });
  return out;
}

raw::BinaryCrossEntropyGrads binary_cross_entropy_with_logits_backward(const Tensor& logits, const Tensor& targets,
                                                                       const Tensor& grad, double scale,
                                                                       bool want_targets) {
  const char* op = "binary_cross_entropy_with_logits backward (CUDA)";
  RG_CHECK(targets.device() == logits.device() && grad.device() == logits.device(), op, ": logits on ", logits.device(),
           ", targets on ", targets.device(), " and gradient on ", grad.device());
  raw::BinaryCrossEntropyGrads out;
  out.logits = Tensor::empty(logits.shape(), logits.dtype(), logits.device());
  const Tensor& g = grad;  // in the logits' dtype (the raw op converted it)
  visit_floating(logits.dtype(), "binary_cross_entropy_with_logits", [&]<typename T>(T) {
    const T s = static_cast<T>(scale);
    launch_map<T, T, T, T>(op, out.logits, BinaryCrossEntropyLogitsGrad<T>{s}, logits, targets, g);
    if (want_targets) {
      out.targets = Tensor::empty(logits.shape(), logits.dtype(), logits.device());
      launch_map<T, T, T>(op, out.targets, BinaryCrossEntropyTargetsGrad<T>{s}, logits, g);
    }
  });
  return out;
}

}  // namespace recgrad::cuda
