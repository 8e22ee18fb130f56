// Conv1d and Conv2d: the convolution layers (torch.nn.Conv1d / Conv2d), over autograd/ops/conv.h.
#pragma once

#include <array>
#include <cstdint>

#include "autograd/ops/conv.h"
#include "nn/module.h"

namespace recgrad::nn {

/// y = conv2d(x, weight, bias) with weight [out_channels, in_channels/groups, kh, kw] and bias [out_channels]
/// (or none). Initialisation as in PyTorch: weight by kaiming_uniform_(a = sqrt(5)), which is
/// U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in_channels/groups * kh * kw; bias U(-1/sqrt(fan_in),
/// 1/sqrt(fan_in)). Drawn from the default generator, weight first, then bias.
class Conv2d : public Module {
 public:
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, std::array<std::int64_t, 2> kernel_size,
         Conv2dOptions options = {}, bool bias = true);

  /// x [B, in_channels, H, W] (or [in_channels, H, W]) -> [B, out_channels, Ho, Wo],
  /// Ho = (H + 2*ph - dh*(kh - 1) - 1) / sh + 1 (likewise Wo).
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }

  std::int64_t in_channels;
  std::int64_t out_channels;
  std::array<std::int64_t, 2> kernel_size;
  Conv2dOptions options;
  Tensor weight;
  Tensor bias;  // undefined when built with bias = false
};

/// y = conv1d(x, weight, bias) with weight [out_channels, in_channels/groups, k] and bias [out_channels]
/// (or none); initialised like Conv2d with fan_in = in_channels/groups * k.
class Conv1d : public Module {
 public:
  Conv1d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size, Conv1dOptions options = {},
         bool bias = true);

  /// x [B, in_channels, L] (or [in_channels, L]) -> [B, out_channels, Lo], Lo = (L + 2p - d(k - 1) - 1) / s + 1.
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }

  std::int64_t in_channels;
  std::int64_t out_channels;
  std::int64_t kernel_size;
  Conv1dOptions options;
  Tensor weight;
  Tensor bias;  // undefined when built with bias = false
};

}  // namespace recgrad::nn
