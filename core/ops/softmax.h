// Softmax and log-softmax along one dim without autograd, and their backward
// kernels. Each row (the elements along `dim`) is processed by the kernels of
// core/cpu/row_softmax.h: numerically stable (the row max is subtracted before
// exp), f32 exps vectorised.
#pragma once

#include "core/tensor.h"

namespace recgrad::raw {

/// y_j = exp(x_j - m) / sum_k exp(x_k - m) along `dim`, m = max_k x_k.
Tensor softmax(const Tensor& x, std::int64_t dim);
/// y_j = x_j - logsumexp_k(x_k) along `dim`.
Tensor log_softmax(const Tensor& x, std::int64_t dim);
/// Gradient of softmax from its output y: dx = y * (g - sum_k g_k y_k).
Tensor softmax_backward(const Tensor& y, const Tensor& grad, std::int64_t dim);
/// Gradient of log_softmax from its output y: dx = g - exp(y) * sum_k g_k.
Tensor log_softmax_backward(const Tensor& y, const Tensor& grad, std::int64_t dim);

}  // namespace recgrad::raw
