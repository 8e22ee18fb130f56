// masked_softmax: one warp per row. Attention rows are short (a sequence length, up to a few thousand
// keys), so a warp walks its row in strides of 32: pass 1 the max over unmasked entries, pass 2 the sum of
// exp(x - max), pass 3 the normalised output. Warp-shuffle reductions keep the order fixed (deterministic).
#include <cmath>

#include "core/cuda/kernel_utils.cuh"
#include "core/cuda/masked_softmax.h"

namespace recgrad::cuda {
namespace {

constexpr int kWarpsPerBlock = 4;

template <typename T>
__global__ void masked_softmax_kernel(T* out, const T* x, const bool* mask, std::int64_t rows, std::int64_t n) {
  const std::int64_t row = static_cast<std::int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarpSize;
  if (row >= rows) return;  // the whole warp leaves together
  const int lane = threadIdx.x % kWarpSize;
  const T* in = x + row * n;
  const bool* m = mask + row * n;
  T* y = out + row * n;
  const T neg_inf = -INFINITY;
  T top = neg_inf;
  for (std::int64_t j = lane; j < n; j += kWarpSize) top = m[j] ? top : max(top, in[j]);
  top = warp_max(top);
  if (top == neg_inf) {  // nothing to attend to
    for (std::int64_t j = lane; j < n; j += kWarpSize) y[j] = T(0);
    return;
  }
  T total = 0;
  for (std::int64_t j = lane; j < n; j += kWarpSize) total += m[j] ? T(0) : exp(in[j] - top);
  const T inv_total = T(1) / warp_sum(total);
  for (std::int64_t j = lane; j < n; j += kWarpSize) y[j] = m[j] ? T(0) : exp(in[j] - top) * inv_total;
}

}  // namespace

void masked_softmax(const Tensor& out, const Tensor& x, const Tensor& mask, std::int64_t rows, std::int64_t n) {
  if (rows == 0 || n == 0) return;
  const DeviceGuard guard(x.device().index, "masked_softmax");
  const unsigned blocks = static_cast<unsigned>((rows + kWarpsPerBlock - 1) / kWarpsPerBlock);
  visit_floating(x.dtype(), "masked_softmax", [&]<typename T>(T) {
    masked_softmax_kernel<T><<<blocks, kWarpsPerBlock * kWarpSize, 0, stream()>>>(
        static_cast<T*>(out.device_pointer()), static_cast<const T*>(x.device_pointer()),
        static_cast<const bool*>(mask.device_pointer()), rows, n);
    RG_CUDA_CHECK_LAUNCH("masked_softmax (CUDA kernel launch)");
  });
}

}  // namespace recgrad::cuda
