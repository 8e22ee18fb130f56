// Fused normalization kernels without autograd. The input is seen as a dense
// [rows, n] matrix, n = numel(normalized_shape) (the trailing dims); each row
// is normalized on its own.
//   layer_norm: mean = avg(x), rstd = 1 / sqrt(avg((x - mean)^2) + eps),
//               y = (x - mean) * rstd * weight + bias
//   rms_norm:   rstd = 1 / sqrt(avg(x^2) + eps), y = x * rstd * weight
// The forward returns the per-row statistics the backward reuses.
#pragma once

#include "core/plans/norm.h"
#include "core/tensor.h"

namespace recgrad::raw {

/// Layer normalization over the trailing `normalized_shape`; weight and bias
/// (of that shape) may each be undefined.
NormForward layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                       double eps);

/// With xhat = (x - mean) * rstd and gw = g * weight (g when no weight):
///   dx = rstd * (gw - avg(gw) - xhat * avg(gw * xhat))   (averages over each row)
///   dweight = sum_rows(g * xhat), dbias = sum_rows(g)
NormGrads layer_norm_backward(const Tensor& grad_out, const Tensor& x, const NormForward& saved, const Tensor& weight,
                              const Shape& normalized_shape, bool need_x, bool need_weight, bool need_bias);

/// RMS normalization over the trailing `normalized_shape` (torch's rms_norm);
/// weight may be undefined.
NormForward rms_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, double eps);

/// With xhat = x * rstd and gw = g * weight:
///   dx = rstd * (gw - xhat * avg(gw * xhat)),  dweight = sum_rows(g * xhat)
NormGrads rms_norm_backward(const Tensor& grad_out, const Tensor& x, const NormForward& saved, const Tensor& weight,
                            const Shape& normalized_shape, bool need_x, bool need_weight);

}  // namespace recgrad::raw
