// Softmax over the last dimension that skips masked entries, the probabilities of attention:
//   y_j = 0 where mask_j,   y_j = exp(x_j - m) / sum_{k unmasked} exp(x_k - m) elsewhere (m = max unmasked x),
// and a row with every entry masked gives y = 0 (not NaN). Its gradient is the plain softmax backward
// dx = y * (g - sum(g * y)), which is 0 wherever y is.
#pragma once

#include "core/tensor.h"

namespace recgrad::raw {

/// x floating [..., n], mask b8 broadcastable to x's shape (true = masked) -> y like x.
Tensor masked_softmax(const Tensor& x, const Tensor& mask);

}  // namespace recgrad::raw
