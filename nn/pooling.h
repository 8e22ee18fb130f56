// Pooling layers (torch.nn.MaxPool1d/2d, AvgPool1d/2d) and GlobalMaxPool, the max over one whole dim that
// Caser applies over time to its horizontal filters; parameter-free modules over autograd/ops/pooling.h.
#pragma once

#include <cstdint>

#include "autograd/ops/pooling.h"
#include "nn/module.h"

namespace recgrad::nn {

/// y = max over each window of the last two dims (x [B, C, H, W] or [C, H, W]); see Pool2dOptions.
class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(Pool2dOptions options) : options(options) {}
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }

  Pool2dOptions options;
};

/// y = mean over each window of the last two dims; the divisor counts the zero padding when
/// count_include_pad (PyTorch's default).
class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(Pool2dOptions options, bool count_include_pad = true)
      : options(options), count_include_pad(count_include_pad) {}
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }

  Pool2dOptions options;
  bool count_include_pad;
};

/// y = max over each window of the last dim (x [B, C, L] or [C, L]); see Pool1dOptions.
class MaxPool1d : public Module {
 public:
  explicit MaxPool1d(Pool1dOptions options) : options(options) {}
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }

  Pool1dOptions options;
};

/// y = mean over each window of the last dim.
class AvgPool1d : public Module {
 public:
  explicit AvgPool1d(Pool1dOptions options, bool count_include_pad = true)
      : options(options), count_include_pad(count_include_pad) {}
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }

  Pool1dOptions options;
  bool count_include_pad;
};

/// y = max over the whole of dim `dim` (removed unless keepdim); the gradient goes to the first maximum.
/// For Caser's horizontal filters: conv output [B, n_h, L - h + 1] -> [B, n_h] with dim = -1.
class GlobalMaxPool : public Module {
 public:
  explicit GlobalMaxPool(std::int64_t dim = -1, bool keepdim = false) : dim(dim), keepdim(keepdim) {}
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }

  std::int64_t dim;
  bool keepdim;
};

}  // namespace recgrad::nn
