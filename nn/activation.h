// Activation functions as parameter-free modules, so they can sit in a
// Sequential: ReLU, GELU, SiLU, Sigmoid, Tanh (the torch.nn classes).
#pragma once

#include "autograd/ops/activations.h"
#include "nn/module.h"

namespace recgrad::nn {

/// y = max(x, 0).
class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }
};

/// y = x * Phi(x) (exact, erf) or its tanh approximation
/// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
class GELU : public Module {
 public:
  explicit GELU(GeluApproximation approximation = GeluApproximation::None) : approximation(approximation) {}
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }

  GeluApproximation approximation;
};

/// y = x * sigmoid(x) (also called swish).
class SiLU : public Module {
 public:
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }
};

/// y = 1 / (1 + exp(-x)).
class Sigmoid : public Module {
 public:
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }
};

/// y = tanh(x).
class Tanh : public Module {
 public:
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }
};

}  // namespace recgrad::nn
