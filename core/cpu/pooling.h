// Max and average pooling on the CPU (core/ops/pooling.h has the windows and PyTorch's rules), one plane at
// a time. The raw ops check the arguments and make the operands dense; core/cuda/pooling.cu is the same on
// a GPU.
#pragma once

#include "core/plans/pooling.h"
#include "core/tensor.h"

namespace recgrad::cpu {

/// Max pooling of the dense x; values and i64 indices of shape `out_shape`.
raw::MaxPool2dResult max_pool2d(const Tensor& x, const raw::Pool2dGeometry& g, const Shape& out_shape);
/// dx of `input_shape`: each input element sums the gradients of the windows whose saved index is it.
Tensor max_pool2d_backward(const Tensor& grad, const Tensor& indices, const raw::Pool2dGeometry& g,
                           const Shape& input_shape);
/// Average pooling of the dense x into `out_shape`.
Tensor avg_pool2d(const Tensor& x, const raw::Pool2dGeometry& g, bool count_include_pad, const Shape& out_shape);
/// dx of `input_shape`: each input element sums grad / divisor over the windows that cover it.
Tensor avg_pool2d_backward(const Tensor& grad, const raw::Pool2dGeometry& g, bool count_include_pad,
                           const Shape& input_shape);

}  // namespace recgrad::cpu
