// The compare launchers of a build without the CUDA backend (core/cuda/built_without_cuda.h).
#include "core/cuda/compare.h"
#include "core/cuda/built_without_cuda.h"

namespace recgrad::cuda {

void compare(CompareOp /*op*/, const Tensor& out, const Tensor& /*a*/, const Tensor& /*b*/) {
  throw_built_without_cuda(detail::concat("compare", " on ", out.device()));
}

void compare_scalar(CompareOp /*op*/, const Tensor& out, const Tensor& /*a*/, double /*scalar*/) {
  throw_built_without_cuda(detail::concat("compare_scalar", " on ", out.device()));
}

void masked_fill(const Tensor& out, const Tensor& /*x*/, const Tensor& /*mask*/, double /*value*/) {
  throw_built_without_cuda(detail::concat("masked_fill", " on ", out.device()));
}

}  // namespace recgrad::cuda
