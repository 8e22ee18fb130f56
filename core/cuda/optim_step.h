// The optimizer updates on a CUDA device: one fused kernel launch per
// parameter reads the gradient and the state once and writes the parameter and
// the state once (the raw ops of core/ops/optim_step.h call these for CUDA
// parameters), plus the per-tensor norms that clip_grad_norm_ needs. Every
// tensor passed in is dense, has the parameter's dtype (f32 or f64) and lives on
// the parameter's device; the callers check that. Plain C++: no CUDA header.
#pragma once

#include <vector>

#include "core/plans/optim_step.h"
#include "core/tensor.h"

namespace recgrad::cuda {

using raw::AdamStepScalars;
using raw::SGDStepScalars;

/// One SGD step on a CUDA parameter, elementwise in torch's order (as sgd_cpu in core/cpu/optim_step.cpp):
///   d = g + weight_decay * p   (when weight_decay != 0, else d = g)
///   buf = d (first step) or buf = buf * momentum + (1 - dampening) * d      (only when buf is defined)
///   d = nesterov ? d + momentum * buf : buf                                 (only when buf is defined)
///   p = p + (-lr) * d
/// `momentum_buffer` is undefined when momentum = 0.
void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const SGDStepScalars& s);

/// One Adam (s.decoupled = false) or AdamW (s.decoupled = true) step on a CUDA
/// parameter, elementwise in torch's order (as adam_cpu in core/cpu/optim_step.cpp):
///   Adam:  g = g + weight_decay * p          AdamW:  p = p * decay
///   m = m * beta1 + (1 - beta1) * g;   v = v * beta2 + (1 - beta2) * g * g
///   v_max = max(v_max, v)  and v_max replaces v below      (only when max_exp_avg_sq is defined: amsgrad)
///   p = p + neg_step_size * m / (sqrt(v) / bias_correction2_sqrt + eps)
void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
               const Tensor& max_exp_avg_sq, const AdamStepScalars& s);

/// For each tensor x of `tensors` (any floating dtype and strides, all on one CUDA device), accumulated in
/// double: sum |x_i|^p, or max |x_i| when p is infinite (NaN when x holds a NaN). One host synchronisation
/// for the whole list; the result does not depend on timing (fixed reduction order).
std::vector<double> power_sums(const std::vector<Tensor>& tensors, double p);

}  // namespace recgrad::cuda
