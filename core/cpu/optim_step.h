// The CPU loops of the optimizer-step family (core/ops/optim_step.h says what each computes). The raw ops
// call these for CPU tensors; every tensor is dense and has the parameter's dtype. Compiled with
// -fno-math-errno (see CMakeLists.txt) so that the loops with a square root vectorise.
#pragma once

#include "core/plans/optim_step.h"
#include "core/tensor.h"

namespace recgrad::cpu {

void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const raw::SGDStepScalars& s);

void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
               const Tensor& max_exp_avg_sq, const raw::AdamStepScalars& s);

void lion_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const raw::LionStepScalars& s);

/// sum |x_i|^p over the dense tensor x (max |x_i| when p = inf; NaN when x holds a NaN), in double.
double power_sum(const Tensor& x, double p);

}  // namespace recgrad::cpu
