// 2-D max and average pooling without autograd (torch.nn.functional.max_pool2d / avg_pool2d), over the
// last two dims of x [B, C, H, W] or [C, H, W]; every (b, c) plane is pooled independently.
//
// Window of output (oh, ow): input rows oh*sh - ph + i*dh for i < kh, columns ow*sw - pw + j*dw for j < kw
// (average pooling has no dilation). Output extent per dim, as in PyTorch:
//   out = floor_or_ceil((in + 2p - d*(k - 1) - 1) / s) + 1, minus 1 when ceil_mode lets the last window
//   start at or beyond in + p.
//   max:  y = max over the window's in-bounds taps (NaN wins); index = ih * W + iw of the first maximum
//         (the last NaN), saved for backward: dx[index] += dy.
//   avg:  y = sum over the in-bounds taps / divisor; divisor = taps of the window clipped to the padded
//         input (count_include_pad, PyTorch's default) or to the input itself; dx[tap] += dy / divisor.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "core/plans/pooling.h"
#include "core/tensor.h"

namespace recgrad {

/// Hyperparameters of 2-D pooling, per spatial dim (height, width), as in torch.nn.MaxPool2d: kernel >= 1;
/// stride >= 1, or 0 for "equal to the kernel" (PyTorch's default); zero/-inf padding at most half the
/// kernel; dilation >= 1 (max pooling only); ceil_mode rounds the output extent up.
struct Pool2dOptions {
  std::array<std::int64_t, 2> kernel{1, 1};
  std::array<std::int64_t, 2> stride{0, 0};
  std::array<std::int64_t, 2> padding{0, 0};
  std::array<std::int64_t, 2> dilation{1, 1};
  bool ceil_mode = false;
};

}  // namespace recgrad

namespace recgrad::raw {

/// Validates x ([B, C, H, W] or [C, H, W], floating) and the options; throws naming `op` and the shapes.
Pool2dGeometry pool2d_geometry(const Tensor& x, const Pool2dOptions& options, std::string_view op);
/// x's shape with the last two extents replaced by the pooled ones.
Shape pooled_shape(const Shape& input_shape, const Pool2dGeometry& g);

MaxPool2dResult max_pool2d(const Tensor& x, const Pool2dOptions& options);
/// dx [input_shape]: dx[plane, indices[plane, o]] += grad_out[plane, o].
Tensor max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, const Shape& input_shape,
                           const Pool2dOptions& options);

/// Average pooling (dilation must be 1).
Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& options, bool count_include_pad = true);
/// dx [input_shape]: every in-bounds tap of window o gets grad_out[o] / divisor(o).
Tensor avg_pool2d_backward(const Tensor& grad_out, const Shape& input_shape, const Pool2dOptions& options,
                           bool count_include_pad = true);

}  // namespace recgrad::raw
