// Stochastic gradient descent with momentum, step for step as torch.optim.SGD
// (single-tensor path). For each parameter p with gradient g:
//   g   = g + weight_decay * p                  coupled (L2) weight decay
//   buf = g                                     on the first step (momentum > 0)
//   buf = momentum * buf + (1 - dampening) * g  on later steps
//   d   = g + momentum * buf   (nesterov)   or   d = buf   (plain momentum)
//   p   = p - lr * d
// With momentum = 0 this is p = p - lr * g and no buffer is kept.
#pragma once

#include <vector>

#include "optim/optimizer.h"

namespace recgrad {

struct SGDOptions {
  double lr = 1e-3;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  /// Nesterov momentum; needs momentum > 0 and dampening = 0 (as torch).
  bool nesterov = false;

  template <typename Visit>
  void for_each_option(Visit&& visit) {
    visit("lr", lr);
    visit("momentum", momentum);
    visit("dampening", dampening);
    visit("weight_decay", weight_decay);
    visit("nesterov", nesterov);
  }
};

class SGD : public TypedOptimizer<SGDOptions> {
 public:
  /// One group holding `params`, with `options`.
  explicit SGD(std::vector<Tensor> params, SGDOptions options = {});
  /// Several groups, each with its own options.
  explicit SGD(std::vector<Group> groups);

  void step() override;

 protected:
  void check_options(const SGDOptions& options, std::size_t group_index) const override;
};

}  // namespace recgrad
