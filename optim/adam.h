// Adam (Kingma & Ba, 2015) and AdamW (Loshchilov & Hutter, "Decoupled Weight
// Decay Regularization", 2019): one implementation, step for step as
// torch.optim.Adam and torch.optim.AdamW (single-tensor path). The only
// difference is where the weight decay goes, the template switch kDecoupled:
//
//   Adam  (kDecoupled = false):  g = g + weight_decay * p        coupled (L2): the decay is part of the gradient,
//                                                                so Adam's moments rescale it like the loss
//   AdamW (kDecoupled = true):   p = p * (1 - lr * weight_decay) decoupled: the weights shrink directly,
//                                                                whatever the moments say
//
// then, for each parameter p with gradient g, at step t = 1, 2, ...:
//   m  = beta1 * m + (1 - beta1) * g            first moment
//   v  = beta2 * v + (1 - beta2) * g * g        second moment
//   v_max = max(v_max, v)                       (amsgrad only; v_max replaces v below)
//   p  = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// m and v start at zero. The defaults are torch's: AdamW's weight decay is 1e-2,
// Adam's 0. The elementwise loop is raw::adam_step (core/ops/optim_step.h).
//
//   Adam adam({w, b}, {.lr = 1e-3});
//   AdamW adamw({w, b}, {.lr = 1e-3, .weight_decay = 0.1});
#pragma once

#include <vector>

#include "optim/optimizer.h"

namespace recgrad {

template <bool kDecoupled>
struct BasicAdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = kDecoupled ? 1e-2 : 0.0;
  bool amsgrad = false;

  template <typename Visit>
  void for_each_option(Visit&& visit) {
    visit("lr", lr);
    visit("beta1", beta1);
    visit("beta2", beta2);
    visit("eps", eps);
    visit("weight_decay", weight_decay);
    visit("amsgrad", amsgrad);
  }
};

using AdamOptions = BasicAdamOptions<false>;
using AdamWOptions = BasicAdamOptions<true>;

template <bool kDecoupled>
class BasicAdam : public TypedOptimizer<BasicAdamOptions<kDecoupled>> {
 public:
  using Options = BasicAdamOptions<kDecoupled>;
  using Group = ParamGroup<Options>;

  /// One group holding `params`, with `options`.
  explicit BasicAdam(std::vector<Tensor> params, Options options = {});
  /// Several groups, each with its own options.
  explicit BasicAdam(std::vector<Group> groups);

  void step() override;

 protected:
  void check_options(const Options& options, std::size_t group_index) const override;
};

using Adam = BasicAdam<false>;
using AdamW = BasicAdam<true>;

extern template class BasicAdam<false>;
extern template class BasicAdam<true>;

}  // namespace recgrad
