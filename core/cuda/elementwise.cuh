// launch_map: the one elementwise loop of the CUDA backend, out[i] = fn(in0[i], in1[i], ...), the GPU twin
// of cpu::map (core/cpu/loops.h). All operands are views of out's shape (broadcast operands carry stride 0).
// Dense operands take a flat grid-stride loop; any other layout is first simplified on the host (size-1
// dimensions dropped, dimensions that are contiguous in every operand merged), then each thread turns its
// flat index into one offset per operand. Private to the .cu files.
#pragma once

#include <array>
#include <cstdint>
#include <utility>

#include "core/cuda/kernel_utils.cuh"

namespace recgrad::cuda {

/// The shared sizes and per-operand strides of N views of one shape, after simplification.
template <int N>
struct MapLayout {
  int rank = 0;
  std::int64_t sizes[kMaxDims] = {};
  std::int64_t strides[N][kMaxDims] = {};
};

/// Builds the simplified layout of `views` (all of one shape): drops size-1 dimensions and merges
/// dimension d into d+1 whenever stride[d] == stride[d+1] * size[d+1] holds for every view.
template <int N>
MapLayout<N> simplify_layout(const std::array<const Tensor*, N>& views, const char* op) {
  const Shape& shape = views[0]->shape();
  RG_CHECK(static_cast<int>(shape.size()) <= kMaxDims, op, ": CUDA kernels support up to ", kMaxDims,
           " dimensions, got shape ", shape);
  MapLayout<N> layout;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    const int r = layout.rank;
    bool merge = r > 0;
    for (int k = 0; k < N && merge; ++k) {
      merge = layout.strides[k][r - 1] == views[k]->strides()[d] * shape[d];
    }
    if (merge) {
      layout.sizes[r - 1] *= shape[d];
      for (int k = 0; k < N; ++k) layout.strides[k][r - 1] = views[k]->strides()[d];
    } else {
      layout.sizes[r] = shape[d];
      for (int k = 0; k < N; ++k) layout.strides[k][r] = views[k]->strides()[d];
      layout.rank = r + 1;
    }
  }
  return layout;
}

namespace detail {

/// Offsets of element i in each of the N operands.
template <int N>
__device__ __forceinline__ void offsets_of(std::int64_t i, const MapLayout<N>& layout, std::int64_t (&offsets)[N]) {
#pragma unroll
  for (int k = 0; k < N; ++k) offsets[k] = 0;
  for (int d = layout.rank - 1; d >= 0; --d) {
    const std::int64_t size = layout.sizes[d];
    const std::int64_t index = i % size;
    i /= size;
#pragma unroll
    for (int k = 0; k < N; ++k) offsets[k] += index * layout.strides[k][d];
  }
}

template <typename Out, typename Fn, typename... In>
__global__ void map_dense_kernel(std::int64_t n, Fn fn, Out* out, const In*... in) {
  for (std::int64_t i = grid_first(); i < n; i += grid_step()) out[i] = fn(in[i]...);
}

/// Operand 0 is the output; input k reads at offsets[k + 1].
template <typename Out, typename Fn, typename... In, std::size_t... K>
__device__ __forceinline__ void apply_at(const std::int64_t* offsets, Fn& fn, Out* out, std::index_sequence<K...>,
                                         const In*... in) {
  out[offsets[0]] = fn(in[offsets[K + 1]]...);
}

template <typename Out, typename Fn, typename... In>
__global__ void map_strided_kernel(std::int64_t n, MapLayout<1 + sizeof...(In)> layout, Fn fn, Out* out,
                                   const In*... in) {
  constexpr int N = 1 + sizeof...(In);
  for (std::int64_t i = grid_first(); i < n; i += grid_step()) {
    std::int64_t offsets[N];
    offsets_of<N>(i, layout, offsets);
    apply_at<Out, Fn, In...>(offsets, fn, out, std::index_sequence_for<In...>{}, in...);
  }
}

}  // namespace detail

/// out[i] = fn(inputs[i]...) on out's device; `Out`/`In...` are the element types and `fn` a functor
/// with a __device__ call operator. Launch errors name `op`.
template <typename Out, typename... In, typename Fn, typename... Tensors>
void launch_map(const char* op, const Tensor& out, Fn fn, const Tensors&... inputs) {
  static_assert(sizeof...(In) == sizeof...(Tensors));
  const std::int64_t n = out.numel();
  if (n == 0) return;
  const DeviceGuard guard(out.device().index, op);
  Out* out_data = static_cast<Out*>(out.device_pointer());
  const unsigned blocks = grid_for(n);
  if (out.is_contiguous() && (inputs.is_contiguous() && ...)) {
    detail::map_dense_kernel<Out, Fn, In...>
        <<<blocks, kThreads, 0, stream()>>>(n, fn, out_data, static_cast<const In*>(inputs.device_pointer())...);
  } else {
    constexpr int N = 1 + sizeof...(In);
    const MapLayout<N> layout = simplify_layout<N>({&out, &inputs...}, op);
    detail::map_strided_kernel<Out, Fn, In...><<<blocks, kThreads, 0, stream()>>>(
        n, layout, fn, out_data, static_cast<const In*>(inputs.device_pointer())...);
  }
  RG_CUDA_CHECK_LAUNCH(op);
}

}  // namespace recgrad::cuda
