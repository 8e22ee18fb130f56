// RMSNorm: root-mean-square normalisation over the trailing dims (torch.nn.RMSNorm).
#pragma once

#include "nn/module.h"

namespace recgrad::nn {

/// y = x / sqrt(mean(x^2 over the trailing normalized_shape dims) + eps) * weight,
/// with weight (ones, shape normalized_shape) a parameter.
class RMSNorm : public Module {
 public:
  explicit RMSNorm(Shape normalized_shape, double eps = 1e-6);

  /// x [..., *normalized_shape] -> same shape.
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }

  Shape normalized_shape;
  double eps;
  Tensor weight;
};

}  // namespace recgrad::nn
