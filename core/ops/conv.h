// 2-D convolution without autograd (torch.nn.functional.conv2d), as im2row + GEMM.
//
// For input x [B, C, H, W], weight w [O, C/groups, kh, kw] and bias b [O]:
//   y[b, o, oh, ow] = b[o] + sum_{c in group(o), i, j} w[o, c, i, j] * x[b, c, oh*sh - ph + i*dh, ow*sw - pw + j*dw]
// (x is zero outside [0, H) x [0, W)). Every output position (b, oh, ow) is one row of the patch matrix
// "cols" [B*Ho*Wo, C*kh*kw] (im2row), so the whole batch is one GEMM per group:
//   forward:  Y_rows [B*Ho*Wo, O] = cols @ w^T, then Y_rows -> y [B, O, Ho, Wo] (+ bias)
//   backward: dY_rows = dy as rows; dw = dY_rows^T @ cols; dcols = dY_rows @ w, scattered back onto dx
//             (row2im, the adjoint of im2row); db = sum of dy over b, oh, ow.
// The batch is processed in chunks so the patch matrix stays within a fixed budget. On the CPU the patch
// matrix is stored position-major ([n, K], copies in runs of kw: Caser's horizontal filters, kw = d) or,
// when output rows are longer than kernel rows, channel-major (its transpose, copies in runs of Wo: images,
// Caser's vertical filter); the GEMMs see the same logical matrices either way. CUDA uses position-major.
// The GEMMs go through raw::gemm_into (CBLAS on the CPU, cuBLAS on CUDA); the layout kernels are in this
// file's .cpp for the CPU and in core/cuda/conv.cu for CUDA.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "core/plans/conv.h"
#include "core/tensor.h"

namespace recgrad {

/// Hyperparameters of a 2-D convolution, per spatial dim (height, width), as in torch.nn.Conv2d:
/// stride >= 1, zero padding >= 0 on both sides, dilation >= 1 (spacing of the kernel taps), and groups
/// (input and output channels split into `groups` independent convolutions).
struct Conv2dOptions {
  std::array<std::int64_t, 2> stride{1, 1};
  std::array<std::int64_t, 2> padding{0, 0};
  std::array<std::int64_t, 2> dilation{1, 1};
  std::int64_t groups = 1;
};

}  // namespace recgrad

namespace recgrad::raw {

/// Validates x [B, C, H, W], weight [O, C/groups, kh, kw], bias [O] (or undefined) and the options
/// (dtypes, devices, extents); throws naming `op` and the shapes.
Conv2dGeometry conv2d_geometry(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options,
                               std::string_view op);

/// y = conv2d(x, weight, bias) for x [B, C, H, W] -> y [B, O, Ho, Wo]; bias may be undefined.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options);

/// Gradients of conv2d; each is undefined unless requested.
struct Conv2dGrads {
  Tensor x;       // [B, C, H, W]: row2im(dY_rows @ w)
  Tensor weight;  // [O, C/groups, kh, kw]: dY_rows^T @ cols
  Tensor bias;    // [O]: sum of dy over batch and positions
};
Conv2dGrads conv2d_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Conv2dOptions& options,
                            bool need_x, bool need_weight, bool need_bias);

}  // namespace recgrad::raw
