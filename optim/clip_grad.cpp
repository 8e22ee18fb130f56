#include "optim/clip_grad.h"

#include <algorithm>
#include <cmath>

#include "core/cpu/parallel.h"
#include "core/ops/binary.h"
#include "core/ops/copy.h"

namespace recgrad {

namespace {

// sum |x|^p over a tensor (max |x| when p = inf), accumulated in double.
double gradient_power_sum(const Tensor& grad, double p) {
  const Tensor x = raw::contiguous(grad);
  switch (x.device().type) {
    case DeviceType::CPU:
      break;
    case DeviceType::CUDA:
      throw Error(detail::concat("clip_grad_norm_: gradient on ", x.device(), " is not supported yet (CPU only)"));
  }
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

}  // namespace

double grad_norm(const std::vector<Tensor>& params, double norm_type) {
  RG_CHECK(norm_type > 0, "clip_grad_norm_: norm_type must be > 0 (or inf), got ", norm_type);
  double total = 0;
  for (const Tensor& param : params) {
    RG_CHECK(param.defined(), "clip_grad_norm_: a parameter is undefined");
    const Tensor grad = param.grad();
    if (!grad.defined()) continue;
    const double part = gradient_power_sum(grad, norm_type);
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
