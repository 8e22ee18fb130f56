// The optimizer-step family: the elementwise updates of SGD, Adam/AdamW and Lion, and the per-tensor power
// sums that gradient clipping needs, without autograd. The optimizers (optim/*.cpp) compute the per-step
// scalars and call these; each op runs the CUDA kernel for a CUDA parameter (core/cuda/optim_step.h) and the
// CPU loop otherwise (core/cpu/optim_step.h). Every tensor passed in is dense, has the parameter's dtype
// (f32 or f64) and lives on the parameter's device; the optimizers check that (Optimizer::check_devices).
#pragma once

#include <vector>

#include "core/plans/optim_step.h"
#include "core/tensor.h"

namespace recgrad::raw {

/// One SGD step, elementwise in the order of torch's _single_tensor_sgd:
///   d = g + weight_decay * p   (when weight_decay != 0, else d = g)
///   buf = d (first step) or buf = buf * momentum + (1 - dampening) * d      (only when buf is defined)
///   d = nesterov ? d + momentum * buf : buf                                 (only when buf is defined)
///   p = p + (-lr) * d
/// `momentum_buffer` is undefined when momentum = 0.
void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const SGDStepScalars& s);

/// One Adam (s.decoupled = false) or AdamW (s.decoupled = true) step, elementwise in the order of torch's
/// _single_tensor_adam / _single_tensor_adamw:
///   Adam:  g = g + weight_decay * p          AdamW:  p = p * decay
///   m = m * beta1 + (1 - beta1) * g;   v = v * beta2 + (1 - beta2) * g * g
///   v_max = max(v_max, v)  and v_max replaces v below      (only when max_exp_avg_sq is defined: amsgrad)
///   p = p + neg_step_size * m / (sqrt(v) / bias_correction2_sqrt + eps)
void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
               const Tensor& max_exp_avg_sq, const AdamStepScalars& s);

/// One Lion step: c = beta1 m + (1 - beta1) g;  p = p (1 - lr wd) - lr sign(c);  m = beta2 m + (1 - beta2) g.
/// On CUDA it is composed of raw ops (no fused kernel yet).
void lion_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const LionStepScalars& s);

/// For each tensor x of `tensors` (any floating dtype and strides, all on one device), accumulated in double:
/// sum |x_i|^p, or max |x_i| when p is infinite (NaN when x holds a NaN). On CUDA one host synchronisation
/// for the whole list; the result does not depend on timing (fixed reduction order).
std::vector<double> power_sums(const std::vector<Tensor>& tensors, double p);

}  // namespace recgrad::raw
