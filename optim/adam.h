// Adam (Kingma & Ba, 2015), step for step as torch.optim.Adam (single-tensor
// path). Weight decay here is the classic L2 penalty folded into the gradient
// (use AdamW for decoupled decay). For each parameter p with gradient g, at
// step t = 1, 2, ...:
//   g  = g + weight_decay * p                   coupled (L2) weight decay
//   m  = beta1 * m + (1 - beta1) * g            first moment
//   v  = beta2 * v + (1 - beta2) * g * g        second moment
//   v_max = max(v_max, v)                       (amsgrad only; v_max replaces v below)
//   p  = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// m and v start at zero. See adam.cpp for the exact order of operations.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "optim/optimizer.h"

namespace recgrad {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool amsgrad = false;

  /// The options as a ParamGroup option map ("lr", "beta1", ..., "amsgrad" as 0/1).
  std::map<std::string, double> to_map() const;
};

class Adam : public Optimizer {
 public:
  /// One group holding `params`, with `options`.
  explicit Adam(std::vector<Tensor> params, AdamOptions options = {});
  /// Several groups; options a group leaves out come from `defaults`.
  explicit Adam(std::vector<ParamGroup> groups, AdamOptions defaults = {});

  void step() override;

 protected:
  void check_options(const ParamGroup& group, std::size_t group_index) const override;
};

}  // namespace recgrad
