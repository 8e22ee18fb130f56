// The matmul launchers of a build without the CUDA backend (core/cuda/built_without_cuda.h).
#include "core/cuda/matmul.h"
#include "core/cuda/built_without_cuda.h"

namespace recgrad::cuda {

void gemm(const Tensor& c, const Tensor& /*a*/, const Tensor& /*b*/, double /*alpha*/, double /*beta*/) {
  throw_built_without_cuda(detail::concat("gemm", " on ", c.device()));
}

void gemm_batched(const Tensor& out, const Tensor& /*a*/, const Tensor& /*b*/) {
  throw_built_without_cuda(detail::concat("gemm_batched", " on ", out.device()));
}

void linear(const Tensor& out, const Tensor& /*x*/, const Tensor& /*weight*/, const Tensor& /*bias*/) {
  throw_built_without_cuda(detail::concat("linear", " on ", out.device()));
}

}  // namespace recgrad::cuda
