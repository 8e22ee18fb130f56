// The pooling launchers of a build without the CUDA backend (core/cuda/built_without_cuda.h).
#include "core/cuda/pooling.h"
#include "core/cuda/built_without_cuda.h"

namespace recgrad::cuda {

raw::MaxPool2dResult max_pool2d(const Tensor& x, const raw::Pool2dGeometry& /*g*/, const Shape& /*out_shape*/) {
  throw_built_without_cuda(detail::concat("max_pool2d", " on ", x.device()));
}

Tensor max_pool2d_backward(const Tensor& grad, const Tensor& /*indices*/, const raw::Pool2dGeometry& /*g*/,
                           const Shape& /*input_shape*/) {
  throw_built_without_cuda(detail::concat("max_pool2d_backward", " on ", grad.device()));
}

Tensor avg_pool2d(const Tensor& x, const raw::Pool2dGeometry& /*g*/, bool /*count_include_pad*/,
                  const Shape& /*out_shape*/) {
  throw_built_without_cuda(detail::concat("avg_pool2d", " on ", x.device()));
}

Tensor avg_pool2d_backward(const Tensor& grad, const raw::Pool2dGeometry& /*g*/, bool /*count_include_pad*/,
                           const Shape& /*input_shape*/) {
  throw_built_without_cuda(detail::concat("avg_pool2d_backward", " on ", grad.device()));
}

}  // namespace recgrad::cuda
