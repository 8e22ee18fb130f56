// AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", 2019),
// step for step as torch.optim.AdamW (single-tensor path). For each parameter p
// with gradient g, at step t = 1, 2, ...:
//   p  = p * (1 - lr * weight_decay)            decoupled weight decay
//   m  = beta1 * m + (1 - beta1) * g            first moment
//   v  = beta2 * v + (1 - beta2) * g * g        second moment
//   v_max = max(v_max, v)                       (amsgrad only; v_max replaces v below)
//   p  = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// m and v start at zero. See adamw.cpp for the exact order of operations.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "optim/optimizer.h"

namespace recgrad {

struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;

  /// The options as a ParamGroup option map ("lr", "beta1", ..., "amsgrad" as 0/1).
  std::map<std::string, double> to_map() const;
};

class AdamW : public Optimizer {
 public:
  /// One group holding `params`, with `options`.
  explicit AdamW(std::vector<Tensor> params, AdamWOptions options = {});
  /// Several groups; options a group leaves out come from `defaults`.
  explicit AdamW(std::vector<ParamGroup> groups, AdamWOptions defaults = {});

  void step() override;

 protected:
  void check_options(const ParamGroup& group, std::size_t group_index) const override;
};

}  // namespace recgrad
