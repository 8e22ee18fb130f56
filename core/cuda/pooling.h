// Max and average pooling kernels on a CUDA device (core/ops/pooling.h); core/cpu/pooling.h is the same on the CPU. The
// raw ops check their arguments and make the input dense; every output element is written by exactly one thread,
// gathering its inputs in a fixed order (no atomics), in the order the CPU kernels use.
#pragma once

#include "core/plans/pooling.h"
#include "core/tensor.h"

namespace recgrad::cuda {

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

}  // namespace recgrad::cuda
