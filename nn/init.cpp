#include "nn/init.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "core/factory.h"
#include "core/ops/copy.h"

namespace recgrad::nn::init {

namespace {

void check_floating(const Tensor& t, const char* op) {
  RG_CHECK(t.defined(), op, ": the tensor is undefined");
  RG_CHECK(is_floating(t.dtype()), op, ": expected a floating tensor, got ", t.dtype(), " with shape ", t.shape());
}

}  // namespace

Tensor uniform_(const Tensor& t, double low, double high, Generator* generator) {
  check_floating(t, "init::uniform_");
  RG_CHECK(low <= high, "init::uniform_: low ", low, " exceeds high ", high);
  NoGradGuard no_grad;
  raw::copy_(t, rand(t.shape(), low, high, {t.dtype(), t.device()}, generator));
  return t;
}

Tensor normal_(const Tensor& t, double mean, double std, Generator* generator) {
  check_floating(t, "init::normal_");
  RG_CHECK(std >= 0.0, "init::normal_: std must be non-negative, got ", std);
  NoGradGuard no_grad;
  Tensor samples = randn(t.shape(), {t.dtype(), t.device()}, generator);
  visit_floating(t.dtype(), "init::normal_", [&]<typename T>(T) {
    T* data = samples.data<T>();
    const std::int64_t n = samples.numel();
    for (std::int64_t i = 0; i < n; ++i) data[i] = static_cast<T>(mean + std * static_cast<double>(data[i]));
  });
  raw::copy_(t, samples);
  return t;
}

Tensor constant_(const Tensor& t, double value) {
  RG_CHECK(t.defined(), "init::constant_: the tensor is undefined");
  NoGradGuard no_grad;
  raw::fill_(t, value);
  return t;
}

Tensor zeros_(const Tensor& t) { return constant_(t, 0.0); }
Tensor ones_(const Tensor& t) { return constant_(t, 1.0); }

Fans compute_fans(const Tensor& t) {
  RG_CHECK(t.defined() && t.dim() >= 2,
           "init::compute_fans: fan in and fan out need a tensor with at least 2 dims, got ",
           t.defined() ? shape_str(t.shape()) : std::string("an undefined tensor"));
  std::int64_t receptive_field = 1;
  for (std::int64_t d = 2; d < t.dim(); ++d) receptive_field *= t.size(d);
  return {t.size(1) * receptive_field, t.size(0) * receptive_field};
}

Tensor xavier_uniform_(const Tensor& t, double gain, Generator* generator) {
  check_floating(t, "init::xavier_uniform_");
  const Fans fans = compute_fans(t);
  RG_CHECK(fans.fan_in + fans.fan_out > 0, "init::xavier_uniform_: zero fans for shape ", t.shape());
  const double bound = gain * std::sqrt(6.0 / static_cast<double>(fans.fan_in + fans.fan_out));
  return uniform_(t, -bound, bound, generator);
}

Tensor xavier_normal_(const Tensor& t, double gain, Generator* generator) {
  check_floating(t, "init::xavier_normal_");
  const Fans fans = compute_fans(t);
  RG_CHECK(fans.fan_in + fans.fan_out > 0, "init::xavier_normal_: zero fans for shape ", t.shape());
  return normal_(t, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fans.fan_in + fans.fan_out)), generator);
}

Tensor kaiming_uniform_(const Tensor& t, double a, FanMode mode, Generator* generator) {
  check_floating(t, "init::kaiming_uniform_");
  const Fans fans = compute_fans(t);
  const std::int64_t fan = mode == FanMode::FanIn ? fans.fan_in : fans.fan_out;
  RG_CHECK(fan > 0, "init::kaiming_uniform_: zero fan for shape ", t.shape());
  const double gain = std::sqrt(2.0 / (1.0 + a * a));
  const double bound = gain * std::sqrt(3.0 / static_cast<double>(fan));
  return uniform_(t, -bound, bound, generator);
}

}  // namespace recgrad::nn::init
