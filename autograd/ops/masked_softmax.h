// Differentiable masked softmax over the last dimension (attention probabilities):
//   y_j = 0 where mask_j, softmax over the unmasked entries elsewhere; a fully masked row gives zeros.
//   dx = y * (g - sum(g * y))   (the softmax backward; zero at masked entries and on fully masked rows)
#pragma once

#include "core/tensor.h"

namespace recgrad {

/// x floating [..., n]; mask b8 broadcastable to x (true = masked; no gradient).
Tensor masked_softmax(const Tensor& x, const Tensor& mask);

}  // namespace recgrad
