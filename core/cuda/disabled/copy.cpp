// The copy launchers of a build without the CUDA backend (core/cuda/built_without_cuda.h).
#include "core/cuda/copy.h"
#include "core/cuda/built_without_cuda.h"

namespace recgrad::cuda {

void fill(const Tensor& /*dst*/, double /*value*/) { throw_built_without_cuda("fill"); }

void copy(const Tensor& /*dst*/, const Tensor& /*src*/) { throw_built_without_cuda("copy"); }

void f32_to_bf16(const Tensor& /*dst*/, const Tensor& /*src*/) { throw_built_without_cuda("f32_to_bf16"); }

void bf16_to_f32(const Tensor& /*dst*/, const Tensor& /*src*/) { throw_built_without_cuda("bf16_to_f32"); }

}  // namespace recgrad::cuda
