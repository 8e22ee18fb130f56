// CPU-vs-CUDA parity for the GPU suites: run a function of tensors on the CPU
// and on CUDA copies of the same inputs, then compare the outputs and the
// gradients of every input, element by element. Every test that needs a GPU
// starts with SKIP_WITHOUT_CUDA(), which skips with the reason on machines
// without one (and in builds without CUDA).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/cuda/runtime.h"
#include "core/ops/copy.h"
#include "recgrad.h"
#include "test_support.h"

namespace recgrad::testing {

/// Element counts the parity suites sweep: a single element, sizes that are not multiples of a warp
/// or a block, and a large odd size (more elements than one grid of blocks covers in one pass).
inline const std::vector<std::int64_t>& parity_sizes() {
  static const std::vector<std::int64_t> sizes{1, 7, 33, 1000003};
  return sizes;
}

/// Allowed difference: |cuda - cpu| <= atol + rtol * |cpu|. f32 kernels: rtol 1e-5 (the bound);
/// TF32 GEMMs: 1e-3.
struct Tolerance {
  double rtol = 1e-5;
  double atol = 1e-6;
};

/// Expects two tensors (any devices) to have one shape and dtype and to agree elementwise within `tol`;
/// reports the worst element. NaN must meet NaN, infinities must be equal.
inline void expect_close(const Tensor& expected, const Tensor& actual, Tolerance tol, const std::string& what) {
  ASSERT_EQ(expected.shape(), actual.shape()) << what;
  ASSERT_EQ(expected.dtype(), actual.dtype()) << what;
  const std::vector<double> e = raw::to_device(expected, Device::cpu()).to_vector<double>();
  const std::vector<double> a = raw::to_device(actual, Device::cpu()).to_vector<double>();
  double worst_excess = 0.0;
  std::size_t worst = 0;
  int bad = 0;
  for (std::size_t i = 0; i < e.size(); ++i) {
    if (std::isnan(e[i]) || std::isnan(a[i])) {
      if (std::isnan(e[i]) != std::isnan(a[i])) ++bad, worst = i, worst_excess = INFINITY;
      continue;
    }
    if (std::isinf(e[i]) || std::isinf(a[i])) {
      if (e[i] != a[i]) ++bad, worst = i, worst_excess = INFINITY;
      continue;
    }
    const double excess = std::abs(a[i] - e[i]) - (tol.atol + tol.rtol * std::abs(e[i]));
    if (excess > 0) {
      ++bad;
      if (excess > worst_excess) worst_excess = excess, worst = i;
    }
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << e.size() << " elements differ; worst at flat index " << worst
                    << ": cpu " << e[worst] << " cuda " << a[worst] << " (rtol " << tol.rtol << ", atol " << tol.atol
                    << ")";
}

/// Copies each CPU input to CUDA (keeping requires_grad), runs `fn` on both sets, and compares the
/// outputs; then backpropagates sum(out * w) with the same random weights w on both devices and
/// compares the gradient of every input that requires one. Inputs that are integer (indices) are
/// copied without gradients.
inline void expect_cuda_parity(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                               const std::vector<Tensor>& cpu_inputs, Tolerance tol = {},
                               const std::string& what = "op") {
  std::vector<Tensor> host, device;
  for (const Tensor& input : cpu_inputs) {
    Tensor h = raw::clone(input);
    Tensor d = raw::to_device(input, Device::cuda());
    if (input.requires_grad()) {
      h.requires_grad_();
      d.requires_grad_();
    }
    host.push_back(h);
    device.push_back(d);
  }
  const Tensor out_host = fn(host);
  const Tensor out_device = fn(device);
  ASSERT_TRUE(out_device.device().is_cuda()) << what << ": the CUDA run returned a tensor on " << out_device.device();
  expect_close(out_host, out_device, tol, what + " (forward)");
  if (!out_host.requires_grad()) return;
  manual_seed(1234);
  const Tensor weights = randn(out_host.shape(), {out_host.dtype(), Device::cpu()});
  sum(mul(out_host, weights)).backward();
  sum(mul(out_device, raw::to_device(weights, Device::cuda()))).backward();
  for (std::size_t i = 0; i < host.size(); ++i) {
    if (!host[i].requires_grad() || !host[i].grad().defined()) continue;
    ASSERT_TRUE(device[i].grad().defined()) << what << ": input " << i << " got no gradient on CUDA";
    expect_close(host[i].grad(), device[i].grad(), tol, what + " (gradient of input " + std::to_string(i) + ")");
  }
}

/// Module parity: `make` builds the module twice from the same seed (identical weights); one copy moves
/// to CUDA. `forward` runs on both with the inputs (copied to CUDA for the second); the outputs, the
/// gradients of the inputs that require one and the gradient of every parameter (by name) must agree.
template <typename M>
void expect_module_parity(const std::function<std::shared_ptr<M>()>& make,
                          const std::function<Tensor(M&, const std::vector<Tensor>&)>& forward,
                          const std::vector<Tensor>& cpu_inputs, Tolerance tol, const std::string& what) {
  manual_seed(4321);
  std::shared_ptr<M> host_module = make();
  manual_seed(4321);
  std::shared_ptr<M> device_module = make();
  device_module->to(Device::cuda());
  expect_cuda_parity(
      [&](const std::vector<Tensor>& in) {
        return in.empty() || in[0].device().is_cpu() ? forward(*host_module, in) : forward(*device_module, in);
      },
      cpu_inputs, tol, what);
  const auto host_params = host_module->named_parameters();
  const auto device_params = device_module->named_parameters();
  ASSERT_EQ(host_params.size(), device_params.size());
  for (std::size_t i = 0; i < host_params.size(); ++i) {
    const auto& [name, host_param] = host_params[i];
    const Tensor& device_param = device_params[i].second;
    ASSERT_TRUE(device_param.device().is_cuda()) << what << ": " << name << " did not move";
    if (!host_param.grad().defined()) continue;
    ASSERT_TRUE(device_param.grad().defined()) << what << ": no CUDA gradient for " << name;
    expect_close(host_param.grad(), device_param.grad(), tol, what + " (gradient of " + name + ")");
  }
}

/// A CPU f32 tensor of `shape` with standard-normal entries from `seed`, requiring a gradient.
inline Tensor parity_input(const Shape& shape, std::uint64_t seed, DType dtype = DType::f32) {
  manual_seed(seed);
  Tensor t = randn(shape, {dtype, Device::cpu()});
  t.requires_grad_();
  return t;
}

}  // namespace recgrad::testing
