// What every CUDA kernel file of recgrad shares: how a strided view is passed
// to a kernel, the launch geometry of a grid-stride loop, the warp and block
// reductions, and the stream all kernels run on. Private to the .cu files.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "core/cuda/runtime_check.h"
#include "core/tensor.h"

namespace recgrad::cuda {

/// Views of up to this many dimensions go to the strided kernels.
constexpr int kMaxDims = 12;
/// Threads per block of the elementwise kernels.
constexpr int kThreads = 256;
constexpr int kWarpSize = 32;

/// Sizes and strides (in elements) of a view, passed to a kernel by value.
struct StridedLayout {
  int rank = 0;
  std::int64_t sizes[kMaxDims] = {};
  std::int64_t strides[kMaxDims] = {};
};

/// The layout of `t` viewed with `shape` (t must already have that shape, e.g. an expanded view).
inline StridedLayout layout_of(const Tensor& t, const char* op) {
  RG_CHECK(t.dim() <= kMaxDims, op, ": CUDA kernels support up to ", kMaxDims, " dimensions, got shape ", t.shape());
  StridedLayout layout;
  layout.rank = static_cast<int>(t.dim());
  for (int d = 0; d < layout.rank; ++d) {
    layout.sizes[d] = t.shape()[d];
    layout.strides[d] = t.strides()[d];
  }
  return layout;
}

/// Offset (in elements) of element `i` (row-major order) of a view: sum_d index_d(i) * strides[d].
__device__ __forceinline__ std::int64_t offset_of(std::int64_t i, const StridedLayout& layout) {
  std::int64_t offset = 0;
  for (int d = layout.rank - 1; d >= 0; --d) {
    const std::int64_t size = layout.sizes[d];
    offset += (i % size) * layout.strides[d];
    i /= size;
  }
  return offset;
}

/// Blocks for a grid-stride loop over `n` items with kThreads threads each (at least 1, at most 2^16:
/// enough to fill any GPU several times over; the loop covers the rest).
inline unsigned grid_for(std::int64_t n, int threads = kThreads) {
  return static_cast<unsigned>(std::clamp<std::int64_t>((n + threads - 1) / threads, 1, 1 << 16));
}

/// The global index and step of a grid-stride loop: for (i = first; i < n; i += step).
__device__ __forceinline__ std::int64_t grid_first() {
  return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ std::int64_t grid_step() { return static_cast<std::int64_t>(gridDim.x) * blockDim.x; }

/// Sum of `value` over the 32 lanes of a warp (every lane gets the result); butterfly shuffles, so the
/// order of additions is fixed and results are deterministic.
template <typename T>
__device__ __forceinline__ T warp_sum(T value) {
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) value += __shfl_xor_sync(0xffffffffu, value, offset);
  return value;
}
/// Max of `value` over the lanes of a warp (every lane gets the result).
template <typename T>
__device__ __forceinline__ T warp_max(T value) {
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2)
    value = max(value, __shfl_xor_sync(0xffffffffu, value, offset));
  return value;
}

/// Sum of `value` over all threads of the block (blockDim.x a multiple of 32, at most 1024); every thread
/// gets the result. `scratch` is shared memory of at least 32 elements. Deterministic order.
template <typename T>
__device__ __forceinline__ T block_sum(T value, T* scratch) {
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  const int warps = (blockDim.x + kWarpSize - 1) / kWarpSize;
  value = warp_sum(value);
  __syncthreads();  // scratch may still be read by a previous call
  if (lane == 0) scratch[warp] = value;
  __syncthreads();
  value = lane < warps ? scratch[lane] : T(0);
  return warp_sum(value);
}
/// Max of `value` over all threads of the block, like block_sum; `lowest` fills the unused lanes.
template <typename T>
__device__ __forceinline__ T block_max(T value, T* scratch, T lowest) {
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  const int warps = (blockDim.x + kWarpSize - 1) / kWarpSize;
  value = warp_max(value);
  __syncthreads();
  if (lane == 0) scratch[warp] = value;
  __syncthreads();
  value = lane < warps ? scratch[lane] : lowest;
  return warp_max(value);
}

// Typed device pointers of a tensor's first element, for kernel arguments (pointer_or_null: nullptr for an
// undefined tensor, e.g. an absent bias).
template <typename T>
const T* pointer_or_null(const Tensor& t) {
  return t.defined() ? static_cast<const T*>(t.device_pointer()) : nullptr;
}

template <typename T>
const T* in_ptr(const Tensor& t) {
  return static_cast<const T*>(t.device_pointer());
}
template <typename T>
T* out_ptr(const Tensor& t) {
  return static_cast<T*>(t.device_pointer());
}

}  // namespace recgrad::cuda
