#include "core/cuda/fill.h"
#include "core/cuda/kernel_utils.cuh"
#include "core/cuda/runtime_check.h"

namespace recgrad::cuda {
namespace {

template <typename T>
__global__ void fill_contiguous_kernel(T* data, std::int64_t numel, T value) {
  for (std::int64_t i = grid_first(); i < numel; i += grid_step()) {
    data[i] = value;
  }
}

/// Element i of the view (row-major order) lives at sum_d index_d(i) * strides[d].
template <typename T>
__global__ void fill_strided_kernel(T* data, std::int64_t numel, StridedLayout layout, T value) {
  for (std::int64_t i = grid_first(); i < numel; i += grid_step()) {
    data[offset_of(i, layout)] = value;
  }
}

}  // namespace

void fill(const Tensor& dst, double value) {
  const std::int64_t numel = dst.numel();
  if (numel == 0) return;
  const StridedLayout layout = layout_of(dst, "fill_");
  const DeviceGuard guard(dst.device().index, "fill_");
  const unsigned blocks = grid_for(numel);
  visit_dtype(dst.dtype(), [&]<typename T>(T) {
    T* data = static_cast<T*>(dst.device_pointer());
    const T v = static_cast<T>(value);
    if (dst.is_contiguous()) {
      fill_contiguous_kernel<T><<<blocks, kThreads, 0, stream()>>>(data, numel, v);
    } else {
      fill_strided_kernel<T><<<blocks, kThreads, 0, stream()>>>(data, numel, layout, v);
    }
    RG_CUDA_CHECK_LAUNCH("fill_ (CUDA kernel launch)");
  });
}

}  // namespace recgrad::cuda
