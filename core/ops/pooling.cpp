#include "core/ops/pooling.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/cpu/parallel.h"
#include "core/cpu/pooling.h"
#include "core/cuda/pooling.h"
#include "core/ops/copy.h"

namespace recgrad::raw {

namespace {

/// floor(a / b) for b > 0 (C++ division truncates toward zero).
std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/// PyTorch's pooling_output_shape.
std::int64_t pooled_extent(std::int64_t in, std::int64_t kernel, std::int64_t pad, std::int64_t stride,
                           std::int64_t dilation, bool ceil_mode) {
  std::int64_t out = floor_div(in + 2 * pad - dilation * (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0), stride) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

/// pool2d_geometry for an input of `shape` and `dtype`.
Pool2dGeometry geometry_of(const Shape& shape, DType dtype, const Pool2dOptions& options, std::string_view op) {
  RG_CHECK(shape.size() == 3 || shape.size() == 4, op, ": expected an input [B, C, H, W] or [C, H, W], got ", shape);
  RG_CHECK(is_floating(dtype), op, ": expected a floating input (f32 or f64), got ", dtype, " ", shape);
  Pool2dGeometry g;
  const std::size_t rank = shape.size();
  g.height = shape[rank - 2];
  g.width = shape[rank - 1];
  g.planes = rank == 4 ? shape[0] * shape[1] : shape[0];
  for (int d = 0; d < 2; ++d) {
    const std::int64_t k = options.kernel[d], s = options.stride[d], p = options.padding[d], dil = options.dilation[d];
    RG_CHECK(k >= 1 && s >= 0 && p >= 0 && dil >= 1, op, ": expected kernel >= 1, stride >= 0 (0: the kernel), ",
             "padding >= 0 and dilation >= 1, got kernel (", options.kernel[0], ", ", options.kernel[1], "), stride (",
             options.stride[0], ", ", options.stride[1], "), padding (", options.padding[0], ", ", options.padding[1],
             "), dilation (", options.dilation[0], ", ", options.dilation[1], ")");
    RG_CHECK(p <= k / 2, op, ": padding (", options.padding[0], ", ", options.padding[1],
             ") must be at most half the kernel (", options.kernel[0], ", ", options.kernel[1], ")");
  }
  g.kernel_h = options.kernel[0];
  g.kernel_w = options.kernel[1];
  g.stride_h = options.stride[0] == 0 ? g.kernel_h : options.stride[0];
  g.stride_w = options.stride[1] == 0 ? g.kernel_w : options.stride[1];
  g.pad_h = options.padding[0];
  g.pad_w = options.padding[1];
  g.dilation_h = options.dilation[0];
  g.dilation_w = options.dilation[1];
  g.out_h = pooled_extent(g.height, g.kernel_h, g.pad_h, g.stride_h, g.dilation_h, options.ceil_mode);
  g.out_w = pooled_extent(g.width, g.kernel_w, g.pad_w, g.stride_w, g.dilation_w, options.ceil_mode);
  RG_CHECK(g.out_h >= 1 && g.out_w >= 1, op, ": input ", shape, " is too small for kernel (", g.kernel_h, ", ",
           g.kernel_w, ") with padding (", g.pad_h, ", ", g.pad_w, ") and dilation (", g.dilation_h, ", ", g.dilation_w,
           "): the output would be ", g.out_h, " x ", g.out_w);
  return g;
}

/// Checks a pooling gradient against the pooled shape of `input_shape`; returns the geometry.
Pool2dGeometry backward_geometry(const Tensor& grad_out, const Shape& input_shape, const Pool2dOptions& options,
                                 std::string_view op) {
  const Pool2dGeometry g = geometry_of(input_shape, grad_out.dtype(), options, op);
  RG_CHECK(grad_out.shape() == pooled_shape(input_shape, g), op, ": gradient ", grad_out.shape(),
           " does not match the pooled shape ", pooled_shape(input_shape, g), " of input ", input_shape);
  return g;
}

}  // namespace

Pool2dGeometry pool2d_geometry(const Tensor& x, const Pool2dOptions& options, std::string_view op) {
  return geometry_of(x.shape(), x.dtype(), options, op);
}

Shape pooled_shape(const Shape& input_shape, const Pool2dGeometry& g) {
  Shape out(input_shape.begin(), input_shape.end() - 2);
  out.push_back(g.out_h);
  out.push_back(g.out_w);
  return out;
}

MaxPool2dResult max_pool2d(const Tensor& x_in, const Pool2dOptions& options) {
  const Pool2dGeometry g = pool2d_geometry(x_in, options, "max_pool2d");
  const Tensor x = contiguous(x_in);
  if (x.is_cuda()) return cuda::max_pool2d(x, g, pooled_shape(x.shape(), g));
  return cpu::max_pool2d(x, g, pooled_shape(x.shape(), g));
}

Tensor max_pool2d_backward(const Tensor& grad_out, const Tensor& indices_in, const Shape& input_shape,
                           const Pool2dOptions& options) {
  const Pool2dGeometry g = backward_geometry(grad_out, input_shape, options, "max_pool2d_backward");
  RG_CHECK(indices_in.shape() == grad_out.shape() && indices_in.dtype() == DType::i64 &&
               indices_in.device() == grad_out.device(),
           "max_pool2d_backward: indices ", indices_in.shape(), " ", indices_in.dtype(), " do not match the gradient ",
           grad_out.shape());
  const Tensor grad = contiguous(grad_out), indices = contiguous(indices_in);
  if (grad.is_cuda()) return cuda::max_pool2d_backward(grad, indices, g, input_shape);
  return cpu::max_pool2d_backward(grad, indices, g, input_shape);
}

Tensor avg_pool2d(const Tensor& x_in, const Pool2dOptions& options, bool count_include_pad) {
  const Pool2dGeometry g = pool2d_geometry(x_in, options, "avg_pool2d");
  RG_CHECK(g.dilation_h == 1 && g.dilation_w == 1, "avg_pool2d: dilation must be 1, got (", g.dilation_h, ", ",
           g.dilation_w, ")");
  const Tensor x = contiguous(x_in);
  if (x.is_cuda()) return cuda::avg_pool2d(x, g, count_include_pad, pooled_shape(x.shape(), g));
  return cpu::avg_pool2d(x, g, count_include_pad, pooled_shape(x.shape(), g));
}

Tensor avg_pool2d_backward(const Tensor& grad_out, const Shape& input_shape, const Pool2dOptions& options,
                           bool count_include_pad) {
  const Pool2dGeometry g = backward_geometry(grad_out, input_shape, options, "avg_pool2d_backward");
  RG_CHECK(g.dilation_h == 1 && g.dilation_w == 1, "avg_pool2d_backward: dilation must be 1, got (", g.dilation_h, ", ",
           g.dilation_w, ")");
  const Tensor grad = contiguous(grad_out);
  if (grad.is_cuda()) return cuda::avg_pool2d_backward(grad, g, count_include_pad, input_shape);
  return cpu::avg_pool2d_backward(grad, g, count_include_pad, input_shape);
}

}  // namespace recgrad::raw
