#include "optim/clip_grad.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/cpu/parallel.h"
#include "core/cuda/runtime.h"
#include "core/ops/binary.h"
#include "core/ops/copy.h"

#if RECGRAD_WITH_CUDA
#include "core/cuda/optim_step.h"
#endif

namespace recgrad {

namespace {

// sum |x|^p over a CPU tensor (max |x| when p = inf), accumulated in double.
double gradient_power_sum(const Tensor& grad, double p) {
  const Tensor x = raw::contiguous(grad);
  return visit_floating(x.dtype(), "clip_grad_norm_", [&]<typename T>(T) {
    const T* data = x.data<T>();
    const std::int64_t n = x.numel();
    double result = 0;
    if (std::isinf(p)) {
      for (std::int64_t i = 0; i < n; ++i) result = std::max(result, static_cast<double>(std::abs(data[i])));
      if (std::any_of(data, data + n, [](T v) { return std::isnan(v); })) result = NAN;
    } else if (p == 2) {
      for (std::int64_t i = 0; i < n; ++i) result += static_cast<double>(data[i]) * static_cast<double>(data[i]);
    } else if (p == 1) {
      for (std::int64_t i = 0; i < n; ++i) result += std::abs(static_cast<double>(data[i]));
    } else {
      for (std::int64_t i = 0; i < n; ++i) result += std::pow(std::abs(static_cast<double>(data[i])), p);
    }
    return result;
  });
}

// power_sums of the gradients `grads` (all on one CUDA device), computed there with one synchronisation.
std::vector<double> cuda_power_sums(const std::vector<Tensor>& grads, double p) {
  const Device device = grads.front().device();
  RG_CHECK(cuda::cuda_available(), "clip_grad_norm_: a gradient is on ", device,
           " but CUDA is unavailable: ", cuda::cuda_unavailable_reason());
#if RECGRAD_WITH_CUDA
  return cuda::power_sums(grads, p);
#else
  (void)p;
  throw Error(detail::concat("clip_grad_norm_: a gradient is on ", device, " but this build has no CUDA backend"));
#endif
}

}  // namespace

double grad_norm(const std::vector<Tensor>& params, double norm_type) {
  RG_CHECK(norm_type > 0, "clip_grad_norm_: norm_type must be > 0 (or inf), got ", norm_type);
  std::vector<Tensor> grads;
  for (const Tensor& param : params) {
    RG_CHECK(param.defined(), "clip_grad_norm_: a parameter is undefined");
    if (param.grad().defined()) grads.push_back(param.grad());
  }
  // One part per gradient: CPU ones here, CUDA ones on their device (batched, one wait per device).
  std::vector<double> parts(grads.size(), 0.0);
  std::map<int, std::vector<std::size_t>> on_gpu;  // CUDA ordinal -> positions in grads
  for (std::size_t k = 0; k < grads.size(); ++k) {
    if (grads[k].device().is_cuda()) {
      on_gpu[grads[k].device().index].push_back(k);
    } else {
      parts[k] = gradient_power_sum(grads[k], norm_type);
    }
  }
  for (const auto& [ordinal, positions] : on_gpu) {
    std::vector<Tensor> batch;
    for (const std::size_t k : positions) batch.push_back(grads[k]);
    const std::vector<double> sums = cuda_power_sums(batch, norm_type);
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
