// LayerNorm: normalises over the trailing dims (torch.nn.LayerNorm).
#pragma once

#include "nn/module.h"

namespace recgrad::nn {

/// Normalises each slice over the trailing `normalized_shape` dims:
///   y = (x - mean) / sqrt(var + eps) * weight + bias   (var biased, over those dims)
/// With elementwise_affine, weight (ones) and bias (zeros) of shape
/// normalized_shape are parameters, as in PyTorch; otherwise there are none.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true);

  /// x [..., *normalized_shape] -> same shape.
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }

  Shape normalized_shape;
  double eps;
  Tensor weight;  // undefined without elementwise_affine
  Tensor bias;    // undefined without elementwise_affine
};

}  // namespace recgrad::nn
