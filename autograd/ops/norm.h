// Differentiable layer and RMS normalization over the trailing dims, each a
// fused forward kernel (saving per-row mean and rstd) and a fused backward
// (core/ops/norm.h). With xhat the normalized input and gw = g * weight:
//   layer_norm: y = xhat * weight + bias, xhat = (x - mean) * rstd
//               dx = rstd * (gw - avg(gw) - xhat * avg(gw * xhat))
//   rms_norm:   y = xhat * weight, xhat = x * rstd, rstd = 1 / sqrt(avg(x^2) + eps)
//               dx = rstd * (gw - xhat * avg(gw * xhat))
//   dweight = sum over rows of g * xhat, dbias = sum over rows of g
#pragma once

#include "core/tensor.h"

namespace recgrad {

/// torch.nn.functional.layer_norm: normalizes over the trailing
/// `normalized_shape` with biased variance; weight/bias of that shape or undefined.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);

/// torch.nn.functional.rms_norm: x / sqrt(mean(x^2) + eps) * weight over the
/// trailing `normalized_shape`; weight of that shape or undefined.
Tensor rms_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(), double eps = 1e-6);

}  // namespace recgrad
