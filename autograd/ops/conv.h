// Differentiable 1-D and 2-D convolution (torch.nn.functional.conv1d / conv2d); the kernels are in
// core/ops/conv.h (im2row + GEMM). For x [B, C, H, W], weight w [O, C/groups, kh, kw], bias b [O]:
//   y[b, o, oh, ow] = b[o] + sum_{c, i, j} w[o, c, i, j] * x[b, c, oh*sh - ph + i*dh, ow*sw - pw + j*dw]
//   dx = the adjoint of that gather applied to dy @ w,  dw = sum over positions of dy * patch,  db = sum dy
// conv1d is conv2d with a height of 1.
#pragma once

#include <cstdint>

#include "core/ops/conv.h"
#include "core/tensor.h"

namespace recgrad {

/// conv2d of x [B, C, H, W] (or unbatched [C, H, W]) with weight [O, C/groups, kh, kw] and bias [O] (or
/// undefined) -> [B, O, Ho, Wo] (or [O, Ho, Wo]), Ho = (H + 2*ph - dh*(kh - 1) - 1) / sh + 1, likewise Wo.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), const Conv2dOptions& options = {});

/// Hyperparameters of a 1-D convolution (torch.nn.Conv1d): stride >= 1, zero padding >= 0, dilation >= 1, groups.
struct Conv1dOptions {
  std::int64_t stride = 1;
  std::int64_t padding = 0;
  std::int64_t dilation = 1;
  std::int64_t groups = 1;
};

/// conv1d of x [B, C, L] (or unbatched [C, L]) with weight [O, C/groups, k] and bias [O] (or undefined)
/// -> [B, O, Lo], Lo = (L + 2*p - d*(k - 1) - 1) / s + 1: conv2d on x [B, C, 1, L] and weight [O, C/groups, 1, k].
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), const Conv1dOptions& options = {});

}  // namespace recgrad
