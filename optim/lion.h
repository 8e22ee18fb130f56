// Lion (Chen et al., "Symbolic Discovery of Optimization Algorithms", 2023):
// the sign of an interpolation between the momentum and the gradient, so every
// coordinate moves by exactly lr (plus decay). For each parameter p with
// gradient g:
//   c = beta1 m + (1 - beta1) g                 the interpolated direction
//   p = p - lr (sign(c) + weight_decay p)       i.e. p (1 - lr wd) - lr sign(c); sign(0) = 0
//   m = beta2 m + (1 - beta2) g                 the momentum, updated after the step
// m starts at zero. Defaults betas (0.9, 0.99); Lion's lr is typically 3-10x
// smaller than AdamW's and its weight decay 3-10x larger.
#pragma once

#include <string>
#include <vector>

#include "optim/optimizer.h"

namespace recgrad {

struct LionOptions {
  double lr = 1e-4;
  double beta1 = 0.9;
  double beta2 = 0.99;
  double weight_decay = 0.0;

  template <typename Visit>
  void for_each_option(Visit&& visit) {
    visit("lr", lr);
    visit("beta1", beta1);
    visit("beta2", beta2);
    visit("weight_decay", weight_decay);
  }
};

class Lion : public TypedOptimizer<LionOptions> {
 public:
  explicit Lion(std::vector<Tensor> params, LionOptions options = {});
  explicit Lion(std::vector<Group> groups);

  void step() override;

 protected:
  void check_options(const LionOptions& options, std::size_t group_index) const override;
};

}  // namespace recgrad
