#include "core/ops/norm.h"

#include <algorithm>
#include <cmath>
#include <string_view>
#include <vector>

#include "core/cpu/norm.h"
#include "core/cpu/parallel.h"
#include "core/cuda/norm.h"
#include "core/factory.h"
#include "core/ops/copy.h"
#include "core/ops/view.h"

namespace recgrad::raw {

namespace {

// An optional parameter made dense (undefined stays undefined); the kernels of both devices read dense operands.
Tensor dense(const Tensor& t) { return t.defined() ? raw::contiguous(t) : Tensor(); }

// Validates the operands of a normalization named `op`; returns n, the number
// of elements normalized together.
std::int64_t check_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                        std::string_view op) {
  const bool supported_device = x.device().is_cpu() || x.device().is_cuda();
  RG_CHECK(supported_device, op, ": device ", x.device(), " not supported in this build");
  RG_CHECK(is_floating(x.dtype()), op, ": expected a floating input (f32 or f64), got ", x.dtype(), " ", x.shape());
  const std::size_t k = normalized_shape.size();
  bool trailing = k >= 1 && k <= x.shape().size();
  for (std::size_t d = 0; trailing && d < k; ++d) trailing = x.shape()[x.shape().size() - k + d] == normalized_shape[d];
  RG_CHECK(trailing, op, ": normalized_shape ", normalized_shape, " is not a non-empty suffix of the input shape ",
           x.shape());
  for (const Tensor* param : {&weight, &bias}) {
    if (!param->defined()) continue;
    RG_CHECK(param->shape() == normalized_shape && param->dtype() == x.dtype(), op, ": ",
             param == &weight ? "weight" : "bias", " of shape ", param->shape(), " ", param->dtype(),
             " does not match normalized_shape ", normalized_shape, " of the ", x.dtype(), " input ", x.shape());
  }
  return numel_of(normalized_shape);
}

}  // namespace

NormForward layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                       double eps) {
  const std::int64_t n = check_norm(x, normalized_shape, weight, bias, "layer_norm");
  if (x.is_cuda()) return cuda::norm_forward(contiguous(x), n, dense(weight), dense(bias), eps, /*centered=*/true);
  return cpu::norm_forward(contiguous(x), n, dense(weight), dense(bias), eps, /*centered=*/true);
}

NormGrads layer_norm_backward(const Tensor& grad_out, const Tensor& x, const NormForward& saved, const Tensor& weight,
                              const Shape& normalized_shape, bool need_x, bool need_weight, bool need_bias) {
  if (x.is_cuda()) {
    return cuda::norm_backward(contiguous(grad_out), contiguous(x), saved, dense(weight), normalized_shape,
                               /*centered=*/true, need_x, need_weight, need_bias);
  }
  NormGrads grads = cpu::norm_backward(contiguous(grad_out), contiguous(x), saved, dense(weight), normalized_shape,
                                       /*centered=*/true, need_x, need_weight, need_bias);
  if (grads.bias.defined()) grads.bias = raw::view(grads.bias, normalized_shape);
  return grads;
}

NormForward rms_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, double eps) {
  const std::int64_t n = check_norm(x, normalized_shape, weight, Tensor(), "rms_norm");
  if (x.is_cuda()) return cuda::norm_forward(contiguous(x), n, dense(weight), Tensor(), eps, /*centered=*/false);
  return cpu::norm_forward(contiguous(x), n, dense(weight), Tensor(), eps, /*centered=*/false);
}

NormGrads rms_norm_backward(const Tensor& grad_out, const Tensor& x, const NormForward& saved, const Tensor& weight,
                            const Shape& normalized_shape, bool need_x, bool need_weight) {
  if (x.is_cuda()) {
    return cuda::norm_backward(contiguous(grad_out), contiguous(x), saved, dense(weight), normalized_shape,
                               /*centered=*/false, need_x, need_weight, /*need_bias=*/false);
  }
  return cpu::norm_backward(contiguous(grad_out), contiguous(x), saved, dense(weight), normalized_shape,
                            /*centered=*/false, need_x, need_weight, /*need_bias=*/false);
}

}  // namespace recgrad::raw
