#include "optim/clip_grad.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/cuda/runtime.h"
#include "core/ops/binary.h"
#include "core/ops/optim_step.h"

namespace recgrad {

double grad_norm(const std::vector<Tensor>& params, double norm_type) {
  RG_CHECK(norm_type > 0, "clip_grad_norm_: norm_type must be > 0 (or inf), got ", norm_type);
  std::vector<Tensor> grads;
  for (const Tensor& param : params) {
    RG_CHECK(param.defined(), "clip_grad_norm_: a parameter is undefined");
    if (param.grad().defined()) grads.push_back(param.grad());
  }
  // One part per gradient, computed on its device (CUDA ones batched: one wait per device).
  std::vector<double> parts(grads.size(), 0.0);
  std::map<int, std::vector<std::size_t>> by_device;  // CUDA ordinal (-1: CPU) -> positions in grads
  for (std::size_t k = 0; k < grads.size(); ++k) {
    by_device[grads[k].device().is_cuda() ? grads[k].device().index : -1].push_back(k);
  }
  for (const auto& [ordinal, positions] : by_device) {
    std::vector<Tensor> batch;
    for (const std::size_t k : positions) batch.push_back(grads[k]);
    if (ordinal >= 0) {
      RG_CHECK(cuda::cuda_available(), "clip_grad_norm_: a gradient is on ", batch.front().device(),
               " but CUDA is unavailable: ", cuda::cuda_unavailable_reason());
    }
    const std::vector<double> sums = raw::power_sums(batch, norm_type);
    for (std::size_t j = 0; j < positions.size(); ++j) parts[positions[j]] = sums[j];
  }
  // Combined in parameter order, whatever the devices.
  double total = 0;
  for (const double part : parts) {
    total = std::isinf(norm_type) ? (std::isnan(part) ? part : std::max(total, part)) : total + part;
  }
  if (std::isinf(norm_type)) return total;
  return norm_type == 2 ? std::sqrt(total) : std::pow(total, 1.0 / norm_type);
}

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type, bool error_if_nonfinite) {
  RG_CHECK(max_norm >= 0, "clip_grad_norm_: max_norm must be >= 0, got ", max_norm);
  const double total = grad_norm(params, norm_type);
  RG_CHECK(!error_if_nonfinite || std::isfinite(total), "clip_grad_norm_: the total norm of order ", norm_type,
           " of the gradients is ", total, "; it cannot be clipped");
  const double clip_coef = max_norm / (total + 1e-6);
  if (clip_coef < 1) {  // NaN total: no scaling (torch would multiply every gradient by NaN)
    for (const Tensor& param : params) {
      if (param.grad().defined()) raw::mul_(param.grad(), clip_coef);
    }
  }
  return total;
}

}  // namespace recgrad
