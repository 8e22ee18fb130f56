#include <cstdint>

#include "core/cuda/kernel_utils.cuh"
#include "core/cuda/random.h"
#include "core/cuda/runtime_check.h"

// Built without --use_fast_math: log, sin, cos and sqrt below are CUDA's precise double functions.

namespace recgrad::cuda {
namespace {

/// One Philox4x32-10 block with counter (counter_lo, 0) under `key`: the device twin of
/// recgrad::philox4x32 in core/rng.cpp (every random op uses a zero high counter half).
/// __umulhi(a, b) and a * b are the high and low 32 bits of the 64-bit product a * b.
__device__ __forceinline__ uint4 philox4x32(std::uint64_t key, std::uint64_t counter_lo) {
  constexpr std::uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  std::uint32_t c0 = static_cast<std::uint32_t>(counter_lo), c1 = static_cast<std::uint32_t>(counter_lo >> 32);
  std::uint32_t c2 = 0, c3 = 0;
  std::uint32_t k0 = static_cast<std::uint32_t>(key), k1 = static_cast<std::uint32_t>(key >> 32);
#pragma unroll
  for (int round = 0; round < 10; ++round) {
    const std::uint32_t hi0 = __umulhi(kMul0, c0), lo0 = kMul0 * c0;
    const std::uint32_t hi1 = __umulhi(kMul1, c2), lo1 = kMul1 * c2;
    const std::uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0, c1 = n1, c2 = n2, c3 = n3;
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  return make_uint4(c0, c1, c2, c3);
}

/// Word j (0..3) of a Philox block.
__device__ __forceinline__ std::uint32_t word(const uint4& words, int j) {
  return j == 0 ? words.x : j == 1 ? words.y : j == 2 ? words.z : words.w;
}

/// As recgrad::uniform_from_bits: the top 24 bits times 2^-24, a float in [0, 1) (exact).
__device__ __forceinline__ float uniform_from_bits(std::uint32_t bits) {
  return static_cast<float>(bits >> 8) * (1.0f / 16777216.0f);
}

/// As recgrad::uniform_from_bits64: the top 53 of the 64 bits (hi, lo) times 2^-53, a double in [0, 1) (exact).
__device__ __forceinline__ double uniform_from_bits64(std::uint32_t hi, std::uint32_t lo) {
  const std::uint64_t bits = (static_cast<std::uint64_t>(hi) << 32) | lo;
  return static_cast<double>(bits >> 11) * (1.0 / 9007199254740992.0);
}

/// One thread per Philox block b: elements 4b .. 4b+3 take its four words.
template <typename T>
__global__ void rand_kernel(T* out, std::int64_t n, double low, double span, std::uint64_t seed,
                            std::uint64_t first_block) {
  const std::int64_t blocks = (n + 3) / 4;
  for (std::int64_t b = grid_first(); b < blocks; b += grid_step()) {
    const uint4 words = philox4x32(seed, first_block + static_cast<std::uint64_t>(b));
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const std::int64_t i = 4 * b + j;
      if (i < n) out[i] = static_cast<T>(fma(span, static_cast<double>(uniform_from_bits(word(words, j))), low));
    }
  }
}

/// One thread per Philox block p: the Box-Muller pair of elements 2p (cosine) and 2p+1 (sine).
template <typename T>
__global__ void randn_kernel(T* out, std::int64_t n, std::uint64_t seed, std::uint64_t first_block) {
  constexpr double kTwoPi = 2.0 * 3.14159265358979323846;  // 2.0 * std::numbers::pi, as on the CPU
  const std::int64_t pairs = (n + 1) / 2;
  for (std::int64_t p = grid_first(); p < pairs; p += grid_step()) {
    const uint4 words = philox4x32(seed, first_block + static_cast<std::uint64_t>(p));
    // 1 - u is exact for a multiple u of 2^-53, so a fused multiply-add here could not change it.
    const double u1 = 1.0 - uniform_from_bits64(words.x, words.y);  // (0, 1]
    const double u2 = uniform_from_bits64(words.z, words.w);
    const double radius = sqrt(-2.0 * log(u1));
    const double angle = kTwoPi * u2;
    out[2 * p] = static_cast<T>(radius * cos(angle));
    if (2 * p + 1 < n) out[2 * p + 1] = static_cast<T>(radius * sin(angle));
  }
}

/// One thread per Philox block b: keep and out for elements 4b .. 4b+3. x is read in row-major order
/// through its layout unless kContiguous.
template <typename T, bool kContiguous>
__global__ void dropout_kernel(const T* x, StridedLayout x_layout, T* out, bool* keep, std::int64_t n,
                               std::uint32_t keep_threshold, T scale, std::uint64_t seed, std::uint64_t first_block) {
  const std::int64_t blocks = (n + 3) / 4;
  for (std::int64_t b = grid_first(); b < blocks; b += grid_step()) {
    const uint4 words = philox4x32(seed, first_block + static_cast<std::uint64_t>(b));
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const std::int64_t i = 4 * b + j;
      if (i >= n) break;
      const bool kept = (word(words, j) >> 8) >= keep_threshold;
      const T value = x[kContiguous ? i : offset_of(i, x_layout)];
      keep[i] = kept;
      out[i] = value * (kept ? scale : T(0));  // a multiply, as on the CPU: a dropped NaN stays NaN
    }
  }
}

/// out[i] = g[i] * (keep[i] ? scale : 0), g and keep read through their layouts unless kContiguous.
template <typename T, bool kContiguous>
__global__ void dropout_backward_kernel(const T* g, StridedLayout g_layout, const bool* keep, StridedLayout keep_layout,
                                        T* out, std::int64_t n, T scale) {
  for (std::int64_t i = grid_first(); i < n; i += grid_step()) {
    const T dy = g[kContiguous ? i : offset_of(i, g_layout)];
    const bool kept = keep[kContiguous ? i : offset_of(i, keep_layout)];
    out[i] = dy * (kept ? scale : T(0));
  }
}

}  // namespace

void rand(const Tensor& out, double low, double high, std::uint64_t seed, std::uint64_t first_block) {
  const std::int64_t n = out.numel();
  if (n == 0) return;
  const DeviceGuard guard(out.device().index, "rand (CUDA)");
  visit_floating(out.dtype(), "rand", [&]<typename T>(T) {
    rand_kernel<T><<<grid_for((n + 3) / 4), kThreads, 0, stream()>>>(static_cast<T*>(out.device_pointer()), n, low,
                                                                     high - low, seed, first_block);
    RG_CUDA_CHECK_LAUNCH("rand (CUDA)");
  });
}

void randn(const Tensor& out, std::uint64_t seed, std::uint64_t first_block) {
  const std::int64_t n = out.numel();
  if (n == 0) return;
  const DeviceGuard guard(out.device().index, "randn (CUDA)");
  visit_floating(out.dtype(), "randn", [&]<typename T>(T) {
    randn_kernel<T>
        <<<grid_for((n + 1) / 2), kThreads, 0, stream()>>>(static_cast<T*>(out.device_pointer()), n, seed, first_block);
    RG_CUDA_CHECK_LAUNCH("randn (CUDA)");
  });
}

void dropout(const Tensor& x, std::uint32_t keep_threshold, double scale, std::uint64_t seed, std::uint64_t first_block,
             const Tensor& out, const Tensor& keep) {
  const std::int64_t n = x.numel();
  if (n == 0) return;
  const DeviceGuard guard(x.device().index, "dropout (CUDA)");
  const StridedLayout x_layout = layout_of(x, "dropout");
  const unsigned blocks = grid_for((n + 3) / 4);
  visit_floating(x.dtype(), "dropout", [&]<typename T>(T) {
    const T* in = static_cast<const T*>(x.device_pointer());
    T* o = static_cast<T*>(out.device_pointer());
    bool* k = static_cast<bool*>(keep.device_pointer());
    const T s = static_cast<T>(scale);
    if (x.is_contiguous()) {
      dropout_kernel<T, true>
          <<<blocks, kThreads, 0, stream()>>>(in, x_layout, o, k, n, keep_threshold, s, seed, first_block);
    } else {
      dropout_kernel<T, false>
          <<<blocks, kThreads, 0, stream()>>>(in, x_layout, o, k, n, keep_threshold, s, seed, first_block);
    }
    RG_CUDA_CHECK_LAUNCH("dropout (CUDA)");
  });
}

void dropout_backward(const Tensor& g, const Tensor& keep, double scale, const Tensor& out) {
  const std::int64_t n = g.numel();
  if (n == 0) return;
  const DeviceGuard guard(g.device().index, "dropout_backward (CUDA)");
  const StridedLayout g_layout = layout_of(g, "dropout_backward"), keep_layout = layout_of(keep, "dropout_backward");
  const bool contiguous = g.is_contiguous() && keep.is_contiguous();
  visit_floating(g.dtype(), "dropout_backward", [&]<typename T>(T) {
    const T* dy = static_cast<const T*>(g.device_pointer());
    const bool* k = static_cast<const bool*>(keep.device_pointer());
    T* o = static_cast<T*>(out.device_pointer());
    const T s = static_cast<T>(scale);
    if (contiguous) {
      dropout_backward_kernel<T, true><<<grid_for(n), kThreads, 0, stream()>>>(dy, g_layout, k, keep_layout, o, n, s);
    } else {
      dropout_backward_kernel<T, false><<<grid_for(n), kThreads, 0, stream()>>>(dy, g_layout, k, keep_layout, o, n, s);
    }
    RG_CUDA_CHECK_LAUNCH("dropout_backward (CUDA)");
  });
}

}  // namespace recgrad::cuda
