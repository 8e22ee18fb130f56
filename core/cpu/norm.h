// layer_norm and rms_norm (core/ops/norm.h) on the CPU: rows in parallel, 8-lane sums, and weight/bias
// gradients from per-block partial sums added in block order (deterministic for any thread count). The raw
// ops check the arguments and make the operands dense; core/cuda/norm.cu is the same on a GPU.
#pragma once

#include <cstdint>

#include "core/plans/norm.h"
#include "core/tensor.h"

namespace recgrad::cpu {

/// Per row: mean = avg(x) (0 for rms_norm), rstd = 1 / sqrt(avg((x - mean)^2) + eps),
/// y = (x - mean) * rstd * weight + bias (weight and bias may be undefined; bias is undefined for rms_norm).
/// Returns y and the saved mean (layer_norm only) and rstd, each [rows].
raw::NormForward norm_forward(const Tensor& x, std::int64_t n, const Tensor& weight, const Tensor& bias, double eps,
                              bool centered);

/// With xhat = (x - mean) * rstd and gw = g * weight (g without weight):
///   dx = rstd * (gw - avg(gw) - xhat * avg(gw * xhat))   (avg(gw) only for layer_norm)
///   dweight = sum_rows(g * xhat), dbias = sum_rows(g)     (shape normalized_shape)
/// The column sums add partial sums over blocks of 64 rows in block order, as the CPU does: deterministic.
raw::NormGrads norm_backward(const Tensor& grad_out, const Tensor& x, const raw::NormForward& saved,
                             const Tensor& weight, const Shape& normalized_shape, bool centered, bool need_x,
                             bool need_weight, bool need_bias);

}  // namespace recgrad::cpu
