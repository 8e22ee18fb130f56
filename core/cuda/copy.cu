// Writing and converting tensors on CUDA (core/cuda/copy.h): fill, the strided, broadcasting, dtype-converting
// copy (C++ static_casts, through launch_map), and the vectorised bf16 <-> f32 conversions of dense tensors.
#include <cstdint>

#include "core/cuda/copy.h"
#include "core/cuda/elementwise.cuh"
#include "core/cuda/kernel_utils.cuh"
#include "core/cuda/memcpy.h"
#include "core/cuda/runtime_check.h"

namespace recgrad::cuda {
namespace {

// ---- fill ----

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

// ---- copy ----

template <typename D, typename S>
struct Convert {
  __device__ D operator()(S x) const { return static_cast<D>(x); }
};

// ---- bf16 <-> f32 ----

// Two bf16 values in one 32-bit word, the first in the low half (the order they have in memory).
__device__ __forceinline__ std::uint32_t pack(bfloat16 first, bfloat16 second) {
  return static_cast<std::uint32_t>(first.bits) | (static_cast<std::uint32_t>(second.bits) << 16);
}
__device__ __forceinline__ float low_half(std::uint32_t word) {
  return static_cast<float>(bfloat16::from_bits(static_cast<std::uint16_t>(word & 0xffffu)));
}
__device__ __forceinline__ float high_half(std::uint32_t word) {
  return static_cast<float>(bfloat16::from_bits(static_cast<std::uint16_t>(word >> 16)));
}

// Groups of four: one 16-byte load of f32 and one 8-byte store of bf16 per thread and step.
__global__ void f32_to_bf16_vec4_kernel(const float4* src, uint2* dst, std::int64_t groups) {
  for (std::int64_t i = grid_first(); i < groups; i += grid_step()) {
    const float4 v = src[i];
    dst[i] = make_uint2(pack(bfloat16(v.x), bfloat16(v.y)), pack(bfloat16(v.z), bfloat16(v.w)));
  }
}

// Elements [begin, n) one by one: the tail after the groups of four, or everything when the pointers are
// not aligned for vector access.
__global__ void f32_to_bf16_kernel(const float* src, bfloat16* dst, std::int64_t begin, std::int64_t n) {
  for (std::int64_t i = begin + grid_first(); i < n; i += grid_step()) dst[i] = bfloat16(src[i]);
}

__global__ void bf16_to_f32_vec4_kernel(const uint2* src, float4* dst, std::int64_t groups) {
  for (std::int64_t i = grid_first(); i < groups; i += grid_step()) {
    const uint2 v = src[i];
    dst[i] = make_float4(low_half(v.x), high_half(v.x), low_half(v.y), high_half(v.y));
  }
}

__global__ void bf16_to_f32_kernel(const bfloat16* src, float* dst, std::int64_t begin, std::int64_t n) {
  for (std::int64_t i = begin + grid_first(); i < n; i += grid_step()) dst[i] = static_cast<float>(src[i]);
}

void check_pair(const Tensor& dst, DType dst_dtype, const Tensor& src, DType src_dtype, const char* op) {
  RG_CHECK(src.dtype() == src_dtype && dst.dtype() == dst_dtype, op, ": expected ", src_dtype, " -> ", dst_dtype,
           ", got ", src.dtype(), " -> ", dst.dtype());
  RG_CHECK(src.device().is_cuda() && dst.device() == src.device(), op,
           ": expected both tensors on one CUDA device, got ", src.device(), " -> ", dst.device());
  RG_CHECK(src.shape() == dst.shape(), op, ": shapes differ: ", src.shape(), " -> ", dst.shape());
  RG_CHECK(src.is_contiguous() && dst.is_contiguous(), op,
           ": expected contiguous tensors (strided views go through copy_), got strides ", src.strides(), " -> ",
           dst.strides());
}

bool aligned(const void* pointer, std::uintptr_t bytes) {
  return reinterpret_cast<std::uintptr_t>(pointer) % bytes == 0;
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

void copy(const Tensor& dst, const Tensor& src) {
  if (src.dtype() == dst.dtype() && src.is_contiguous() && dst.is_contiguous()) {  // the copy engine
    copy_bytes(dst.device_pointer(), dst.device(), src.device_pointer(), src.device(),
               static_cast<std::size_t>(src.numel()) * element_size(src.dtype()), "copy_");
    return;
  }
  visit_dtype(dst.dtype(), [&]<typename D>(D) {
    visit_dtype(src.dtype(), [&]<typename S>(S) { launch_map<D, S>("copy_ (CUDA)", dst, Convert<D, S>{}, src); });
  });
}

void f32_to_bf16(const Tensor& dst, const Tensor& src) {
  const char* op = "to_dtype f32 -> bf16 (CUDA)";
  check_pair(dst, DType::bf16, src, DType::f32, op);
  const std::int64_t n = src.numel();
  if (n == 0) return;
  const DeviceGuard guard(src.device().index, op);
  const auto* in = static_cast<const float*>(src.device_pointer());
  auto* out = static_cast<bfloat16*>(dst.device_pointer());
  std::int64_t done = 0;
  if (aligned(in, sizeof(float4)) && aligned(out, sizeof(uint2)) && n >= 4) {
    const std::int64_t groups = n / 4;
    f32_to_bf16_vec4_kernel<<<grid_for(groups), kThreads, 0, stream()>>>(reinterpret_cast<const float4*>(in),
                                                                         reinterpret_cast<uint2*>(out), groups);
    RG_CUDA_CHECK_LAUNCH(op);
    done = groups * 4;
  }
  if (done < n) {
    f32_to_bf16_kernel<<<grid_for(n - done), kThreads, 0, stream()>>>(in, out, done, n);
    RG_CUDA_CHECK_LAUNCH(op);
  }
}

void bf16_to_f32(const Tensor& dst, const Tensor& src) {
  const char* op = "to_dtype bf16 -> f32 (CUDA)";
  check_pair(dst, DType::f32, src, DType::bf16, op);
  const std::int64_t n = src.numel();
  if (n == 0) return;
  const DeviceGuard guard(src.device().index, op);
  const auto* in = static_cast<const bfloat16*>(src.device_pointer());
  auto* out = static_cast<float*>(dst.device_pointer());
  std::int64_t done = 0;
  if (aligned(in, sizeof(uint2)) && aligned(out, sizeof(float4)) && n >= 4) {
    const std::int64_t groups = n / 4;
    bf16_to_f32_vec4_kernel<<<grid_for(groups), kThreads, 0, stream()>>>(reinterpret_cast<const uint2*>(in),
                                                                         reinterpret_cast<float4*>(out), groups);
    RG_CUDA_CHECK_LAUNCH(op);
    done = groups * 4;
  }
  if (done < n) {
    bf16_to_f32_kernel<<<grid_for(n - done), kThreads, 0, stream()>>>(in, out, done, n);
    RG_CUDA_CHECK_LAUNCH(op);
  }
}

}  // namespace recgrad::cuda
