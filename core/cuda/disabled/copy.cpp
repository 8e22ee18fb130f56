// The copy launchers of a build without the CUDA backend (core/cuda/built_without_cuda.h).
#include "core/cuda/copy.h"
#include "core/cuda/built_without_cuda.h"

namespace recgrad::cuda {

void fill(const Tensor& dst, double /*value*/) {
  throw_built_without_cuda(detail::concat("fill", " on ", dst.device()));
}

void copy(const Tensor& dst, const Tensor& /*src*/) {
  throw_built_without_cuda(detail::concat("copy", " on ", dst.device()));
}

void f32_to_bf16(const Tensor& dst, const Tensor& /*src*/) {
  throw_built_without_cuda(detail::concat("f32_to_bf16", " on ", dst.device()));
}

void bf16_to_f32(const Tensor& dst, const Tensor& /*src*/) {
  throw_built_without_cuda(detail::concat("bf16_to_f32", " on ", dst.device()));
}

}  // namespace recgrad::cuda
