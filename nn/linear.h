// Linear: y = x W^T + b, the fully connected layer (torch.nn.Linear).
#pragma once

#include "nn/module.h"

namespace recgrad::nn {

/// weight [out_features, in_features], bias [out_features] (or none).
/// Initialisation as in PyTorch: weight by kaiming_uniform_(a = sqrt(5)),
/// which is U(-1/sqrt(in), 1/sqrt(in)); bias U(-1/sqrt(in), 1/sqrt(in)).
/// Drawn from the default generator, weight first, then bias.
class Linear : public Module {
 public:
  Linear(std::int64_t in_features, std::int64_t out_features, bool bias = true);

  /// x [..., in_features] -> [..., out_features]: y = x W^T + b.
  /// Gradients: dx = dy W, dW = dy^T x, db = sum of dy over the leading dims.
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }

  std::int64_t in_features;
  std::int64_t out_features;
  Tensor weight;
  Tensor bias;  // undefined when built with bias = false
};

}  // namespace recgrad::nn
