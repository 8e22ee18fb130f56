// The softmax launchers of a build without the CUDA backend (core/cuda/built_without_cuda.h).
#include "core/cuda/softmax.h"
#include "core/cuda/built_without_cuda.h"

namespace recgrad::cuda {

Tensor softmax(const Tensor& x, std::int64_t /*dim*/, bool /*log*/) {
  throw_built_without_cuda(detail::concat("softmax", " on ", x.device()));
}

Tensor softmax_backward(const Tensor& y, const Tensor& /*grad*/, std::int64_t /*dim*/, bool /*log*/) {
  throw_built_without_cuda(detail::concat("softmax_backward", " on ", y.device()));
}

}  // namespace recgrad::cuda
