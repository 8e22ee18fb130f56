// Stochastic gradient descent with momentum, step for step as torch.optim.SGD
// (single-tensor path). For each parameter p with gradient g:
//   g   = g + weight_decay * p                  coupled (L2) weight decay
//   buf = g                                     on the first step (momentum > 0)
//   buf = momentum * buf + (1 - dampening) * g  on later steps
//   d   = g + momentum * buf   (nesterov)   or   d = buf   (plain momentum)
//   p   = p - lr * d
// With momentum = 0 this is p = p - lr * g and no buffer is kept.
#pragma once

#include <map>
#include <string>
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

  /// The options as a ParamGroup option map ("lr", ..., "nesterov" as 0/1).
  std::map<std::string, double> to_map() const;
};

class SGD : public Optimizer {
 public:
  /// One group holding `params`, with `options`.
  explicit SGD(std::vector<Tensor> params, SGDOptions options = {});
  /// Several groups; options a group leaves out come from `defaults`.
  explicit SGD(std::vector<ParamGroup> groups, SGDOptions defaults = {});

  void step() override;

 protected:
  void check_options(const ParamGroup& group, std::size_t group_index) const override;
};

}  // namespace recgrad
