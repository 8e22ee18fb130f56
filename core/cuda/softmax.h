// Softmax and log-softmax along one dim on CUDA tensors, and their backward kernels: the CUDA side of
// core/ops/softmax.h. The raw ops check their arguments first, so errors read the same on every device.
// Inputs may have any strides (the dim need not be last); outputs are dense.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace recgrad::cuda {

/// Along `dim`: y_j = exp(x_j - m) / sum_k exp(x_k - m), m = max_k x_k (softmax), or
/// y_j = (x_j - m) - log(sum_k exp(x_k - m)) (log_softmax when `log`).
Tensor softmax(const Tensor& x, std::int64_t dim, bool log);

/// The gradient from the output y and the incoming gradient g along `dim`:
/// softmax: dx = y * (g - sum_k g_k y_k); log_softmax (`log`): dx = g - exp(y) * sum_k g_k.
Tensor softmax_backward(const Tensor& y, const Tensor& grad, std::int64_t dim, bool log);

}  // namespace recgrad::cuda
