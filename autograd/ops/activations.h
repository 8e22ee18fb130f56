// Differentiable activations, each a single fused kernel forward and backward
// (they sit on every MLP's hot path). With g = dL/dy:
//   relu:    y = max(x, 0)             dx = g where y > 0
//   sigmoid: y = 1 / (1 + e^-x)        dx = g y (1 - y)
//   tanh:    y = tanh(x)               dx = g (1 - y^2)
//   silu:    y = x s, s = sigmoid(x)   dx = g s (1 + x (1 - s))
//   gelu:    y = x Phi(x)              dx = g (Phi(x) + x phi(x))
//            (Phi / phi: standard normal distribution / density)
//   gelu, tanh approximation (PyTorch's approximate="tanh"):
//            y = 0.5 x (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3)
//            dx = g (0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 x^2))
#pragma once

#include "core/ops/unary.h"  // GeluApproximation
#include "core/tensor.h"

namespace recgrad {

/// max(x, 0).
Tensor relu(const Tensor& x);
/// 1 / (1 + e^-x).
Tensor sigmoid(const Tensor& x);
/// Hyperbolic tangent.
Tensor tanh(const Tensor& x);
/// x * sigmoid(x) (a.k.a. swish).
Tensor silu(const Tensor& x);
/// Gaussian error linear unit: x * Phi(x), or its tanh approximation.
Tensor gelu(const Tensor& x, GeluApproximation approximation = GeluApproximation::None);

}  // namespace recgrad
