// The sizes of one conv2d call, shared by the raw op (core/ops/conv.h) and the kernels of both devices.
#pragma once

#include <cstdint>

namespace recgrad::raw {

/// The sizes of one conv2d call, checked once. Output extent per dim:
///   out = (in + 2 * pad - dil * (k - 1) - 1) / stride + 1.
struct Conv2dGeometry {
  std::int64_t batch = 0, in_channels = 0, height = 0, width = 0;
  std::int64_t out_channels = 0, kernel_h = 0, kernel_w = 0, out_h = 0, out_w = 0;
  std::int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dilation_h = 1, dilation_w = 1, groups = 1;

  /// Output positions per sample (Ho * Wo).
  std::int64_t positions() const { return out_h * out_w; }
  /// Columns of the patch matrix (C * kh * kw), and per group (C/groups * kh * kw).
  std::int64_t patch_size() const { return in_channels * kernel_h * kernel_w; }
  std::int64_t group_patch_size() const { return patch_size() / groups; }
  std::int64_t group_out_channels() const { return out_channels / groups; }
};

/// How the patch matrix is stored. Both layouts present the same logical matrices to the GEMMs, cols
/// [n, C*kh*kw] and rows [n, O] (n = samples * positions); channel-major stores their transposes.
enum class PatchLayout { PositionMajor, ChannelMajor };

}  // namespace recgrad::raw
