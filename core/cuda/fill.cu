#include <algorithm>

#include "core/cuda/fill.h"
#include "core/cuda/runtime_check.h"

namespace recgrad::cuda {
namespace {

constexpr int kMaxDims = 12;
constexpr int kThreads = 256;

/// Sizes and strides of a view, passed to a kernel by value.
struct StridedLayout {
  int rank = 0;
  std::int64_t sizes[kMaxDims] = {};
  std::int64_t strides[kMaxDims] = {};
};

template <typename T>
__global__ void fill_contiguous_kernel(T* data, std::int64_t numel, T value) {
  const std::int64_t step = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < numel; i += step) {
    data[i] = value;
  }
}

/// Element i of the view (row-major order) lives at sum_d index_d(i) * strides[d].
template <typename T>
__global__ void fill_strided_kernel(T* data, std::int64_t numel, StridedLayout layout, T value) {
  const std::int64_t step = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < numel; i += step) {
    std::int64_t rest = i, offset = 0;
    for (int d = layout.rank - 1; d >= 0; --d) {
      offset += (rest % layout.sizes[d]) * layout.strides[d];
      rest /= layout.sizes[d];
    }
    data[offset] = value;
  }
}

}  // namespace

void fill(const Tensor& dst, double value) {
  const std::int64_t numel = dst.numel();
  if (numel == 0) return;
  RG_CHECK(dst.dim() <= kMaxDims, "fill_: CUDA kernel supports up to ", kMaxDims, " dimensions, got shape ",
           dst.shape());
  const DeviceGuard guard(dst.device().index, "fill_");
  const unsigned blocks = static_cast<unsigned>(std::min<std::int64_t>((numel + kThreads - 1) / kThreads, 1 << 16));
  visit_dtype(dst.dtype(), [&]<typename T>(T) {
    T* data = static_cast<T*>(dst.device_pointer());
    const T v = static_cast<T>(value);
    if (dst.is_contiguous()) {
      fill_contiguous_kernel<T><<<blocks, kThreads>>>(data, numel, v);
    } else {
      StridedLayout layout;
      layout.rank = static_cast<int>(dst.dim());
      for (int d = 0; d < layout.rank; ++d) {
        layout.sizes[d] = dst.shape()[d];
        layout.strides[d] = dst.strides()[d];
      }
      fill_strided_kernel<T><<<blocks, kThreads>>>(data, numel, layout, v);
    }
    RG_CUDA_CHECK_LAUNCH("fill_ (CUDA kernel launch)");
  });
}

}  // namespace recgrad::cuda
