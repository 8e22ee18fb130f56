// Differentiable softmax and log-softmax along one dim (numerically stable).
//   softmax:     y = exp(x - max) / sum(exp(x - max));  dx = y * (g - sum(g * y))
//   log_softmax: y = x - logsumexp(x);                 dx = g - softmax(x) * sum(g)
#pragma once

#include "core/tensor.h"

namespace recgrad {

/// Softmax along `dim` (negative counts from the end).
Tensor softmax(const Tensor& x, std::int64_t dim);
/// Log-softmax along `dim`; prefer it to log(softmax(x)), which underflows.
Tensor log_softmax(const Tensor& x, std::int64_t dim);

}  // namespace recgrad
