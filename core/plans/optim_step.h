// The per-step scalars of the optimizer-step family (core/ops/optim_step.h), shared with the kernels of both
// devices (core/cpu/optim_step.h, core/cuda/optim_step.h).
#pragma once

namespace recgrad::raw {

/// The per-step numbers of an SGD update (see optim/sgd.h).
struct SGDStepScalars {
  double lr = 0, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false;
  bool first_step = false;  // the momentum buffer is set to the gradient instead of decayed
};

/// The per-step numbers of an Adam or AdamW update at step t (see optim/adam.h).
struct AdamStepScalars {
  bool decoupled = false;   // AdamW: p = p * decay first; Adam: g = g + weight_decay * p
  double weight_decay = 0;  // Adam's coupled (L2) decay
  double decay = 1;         // AdamW's 1 - lr * weight_decay
  double beta1 = 0, beta2 = 0;
  double bias_correction2_sqrt = 1;  // sqrt(1 - beta2^t)
  double eps = 0;
  double neg_step_size = 0;  // -lr / (1 - beta1^t)
};

/// The per-step numbers of a Lion update (see optim/lion.h).
struct LionStepScalars {
  double lr = 0, beta1 = 0, beta2 = 0, weight_decay = 0;
};

}  // namespace recgrad::raw
