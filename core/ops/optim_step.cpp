// The optimizer-step raw ops: the CUDA kernel for a CUDA parameter, the CPU loop otherwise.
#include "core/ops/optim_step.h"

#include "core/cpu/optim_step.h"
#include "core/ops/binary.h"
#include "core/ops/compare.h"
#include "core/ops/copy.h"

#include "core/cuda/optim_step.h"

namespace recgrad::raw {

void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const SGDStepScalars& s) {
  if (param.device().is_cuda()) return cuda::sgd_step(param, grad, momentum_buffer, s);
  cpu::sgd_step(param, grad, momentum_buffer, s);
}

void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
               const Tensor& max_exp_avg_sq, const AdamStepScalars& s) {
  if (param.device().is_cuda()) return cuda::adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, s);
  cpu::adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, s);
}

void lion_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const LionStepScalars& s) {
  if (param.device().is_cuda()) {  // the same update composed of raw ops
    const Tensor c = clone(exp_avg);
    mul_(c, s.beta1);
    add_(c, grad, 1 - s.beta1);
    const Tensor sign = sub(to_dtype(gt(c, 0.0), param.dtype()), to_dtype(lt(c, 0.0), param.dtype()));
    if (s.weight_decay != 0) mul_(param, 1 - s.lr * s.weight_decay);
    add_(param, sign, -s.lr);
    mul_(exp_avg, s.beta2);
    add_(exp_avg, grad, 1 - s.beta2);
    return;
  }
  cpu::lion_step(param, grad, exp_avg, s);
}

std::vector<double> power_sums(const std::vector<Tensor>& tensors, double p) {
  if (tensors.empty()) return {};
  if (tensors.front().device().is_cuda()) return cuda::power_sums(tensors, p);
  std::vector<double> sums;
  sums.reserve(tensors.size());
  for (const Tensor& x : tensors) sums.push_back(cpu::power_sum(contiguous(x), p));
  return sums;
}

}  // namespace recgrad::raw
