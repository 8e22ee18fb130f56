// Dropout: inverted dropout while training, the identity in eval mode (torch.nn.Dropout).
#pragma once

#include "nn/module.h"

namespace recgrad::nn {

/// No parameters. In training mode each element is zeroed with probability p
/// and the survivors are scaled by 1 / (1 - p), so the expectation is
/// unchanged; the mask comes from the default Philox generator. In eval mode
/// (after eval()) forward returns x unchanged.
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5);

  /// y = x * mask / (1 - p) when training, else x. Gradient: dx = dy * mask / (1 - p).
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }

  double p;
};

}  // namespace recgrad::nn
