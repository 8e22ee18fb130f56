// Differentiable pooling (torch.nn.functional.max_pool1d/2d, avg_pool1d/2d) and global max pooling over one
// dim; the kernels are in core/ops/pooling.h.
//   max:        y = max of each window (NaN wins); dx[argmax] += dy (argmax = the first maximum)
//   avg:        y = sum of each window / divisor; dx[tap] += dy / divisor for every tap of the window
//   global max: y = max over one whole dim (Caser's max over time); dx[argmax] = dy (ties: the first)
#pragma once

#include <cstdint>

#include "core/ops/pooling.h"
#include "core/tensor.h"

namespace recgrad {

/// Max pooling over the last two dims of x [B, C, H, W] or [C, H, W] -> [..., Ho, Wo] (see Pool2dOptions).
Tensor max_pool2d(const Tensor& x, const Pool2dOptions& options);
/// Average pooling over the last two dims; the divisor counts the zero padding when count_include_pad
/// (PyTorch's default). Dilation must be 1.
Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& options, bool count_include_pad = true);

/// Hyperparameters of 1-D pooling (torch.nn.MaxPool1d): kernel >= 1; stride >= 1, or 0 for "the kernel"
/// (PyTorch's default); padding at most half the kernel; dilation >= 1 (max only); ceil_mode.
struct Pool1dOptions {
  std::int64_t kernel = 1;
  std::int64_t stride = 0;
  std::int64_t padding = 0;
  std::int64_t dilation = 1;
  bool ceil_mode = false;
};

/// Max pooling over the last dim of x [B, C, L] or [C, L] -> [..., Lo]: max_pool2d with a kernel of height 1.
Tensor max_pool1d(const Tensor& x, const Pool1dOptions& options);
/// Average pooling over the last dim of x [B, C, L] or [C, L] -> [..., Lo].
Tensor avg_pool1d(const Tensor& x, const Pool1dOptions& options, bool count_include_pad = true);

/// The max over the whole of dim `dim` (torch.amax-like values with max's gradient): the global max
/// pooling that Caser applies over time to each horizontal filter, equal to adaptive_max_pool1d(x, 1) on
/// the last dim. The gradient goes to the first maximum (NaN wins), like max(x, dim).
Tensor global_max_pool(const Tensor& x, std::int64_t dim = -1, bool keepdim = false);

}  // namespace recgrad
