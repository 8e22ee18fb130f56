// The norm launchers of a build without the CUDA backend (core/cuda/built_without_cuda.h).
#include "core/cuda/norm.h"
#include "core/cuda/built_without_cuda.h"

namespace recgrad::cuda {

raw::NormForward norm_forward(const Tensor& x, std::int64_t /*n*/, const Tensor& /*weight*/, const Tensor& /*bias*/,
                              double /*eps*/, bool /*centered*/) {
  throw_built_without_cuda(detail::concat("norm_forward", " on ", x.device()));
}

raw::NormGrads norm_backward(const Tensor& grad_out, const Tensor& /*x*/, const raw::NormForward& /*saved*/,
                             const Tensor& /*weight*/, const Shape& /*normalized_shape*/, bool /*centered*/,
                             bool /*need_x*/, bool /*need_weight*/, bool /*need_bias*/) {
  throw_built_without_cuda(detail::concat("norm_backward", " on ", grad_out.device()));
}

}  // namespace recgrad::cuda
