#include "core/ops/conv.h"

#include <algorithm>

#include "core/cpu/conv.h"
#include "core/cuda/conv.h"
#include "core/ops/copy.h"
#include "core/ops/matmul.h"
#include "core/ops/view.h"

namespace recgrad::raw {

namespace {

/// Elements of the patch matrix per batch chunk (8 MB in f32): large enough for efficient GEMMs, small
/// enough to stay in cache on the CPU and to bound the memory of large images.
constexpr std::int64_t kPatchBudget = std::int64_t{1} << 21;

/// Samples per chunk: as many as fit in kPatchBudget, at least one.
std::int64_t batch_chunk(const Conv2dGeometry& g) {
  const std::int64_t per_sample = std::max<std::int64_t>(1, g.positions() * g.patch_size());
  return std::clamp<std::int64_t>(kPatchBudget / per_sample, 1, std::max<std::int64_t>(g.batch, 1));
}

// ---- device dispatch ----

/// Channel-major on the CPU when an output row is longer than a kernel row (image-like shapes: runs of Wo);
/// position-major otherwise (Caser's horizontal filters: runs of kw = d), and always on CUDA.
PatchLayout choose_layout(const Conv2dGeometry& g, Device device) {
  return device.is_cpu() && g.out_w > g.kernel_w ? PatchLayout::ChannelMajor : PatchLayout::PositionMajor;
}

/// A logical [n, width] matrix over the front of `buffer`, stored row-major or (channel-major) transposed.
Tensor logical_matrix(const Tensor& buffer, std::int64_t n, std::int64_t width, PatchLayout layout) {
  const Tensor front = narrow(buffer, 0, 0, n * width);
  return layout == PatchLayout::PositionMajor ? view(front, {n, width}) : transpose(view(front, {width, n}), 0, 1);
}

/// c = a @ b + beta * c for a logical c that may be the transpose of a row-major block; then c^T = b^T @ a^T.
void gemm_logical(const Tensor& c, const Tensor& a, const Tensor& b, PatchLayout layout, double beta = 0.0) {
  if (layout == PatchLayout::PositionMajor) return gemm_into(c, a, b, 1.0, beta);
  gemm_into(transpose(c, 0, 1), transpose(b, 0, 1), transpose(a, 0, 1), 1.0, beta);
}

/// Whether the position-major patch matrix is a strided view of the (dense) input itself: one input channel,
/// a kernel as wide as the input, no height padding or dilation, and rows that do not overlap, as for Caser's
/// horizontal filters of height 1 and L. Row (b, oh) is then x[b, 0, oh*sh : oh*sh + kh, :], so no im2row
/// copy is made, and dcols is written straight into dx.
bool patches_are_a_view(const Conv2dGeometry& g) {
  return g.in_channels == 1 && g.kernel_w == g.width && g.pad_w == 0 && g.pad_h == 0 && g.dilation_h == 1 &&
         (g.out_h == 1 || (g.out_h * g.stride_h == g.height && g.stride_h >= g.kernel_h));
}

/// The patch matrix [nb * P, kh * W] of samples [b0, b0 + nb) as a view of t (x or dx) when patches_are_a_view.
Tensor patch_view(const Tensor& t, const Conv2dGeometry& g, std::int64_t b0, std::int64_t nb) {
  const std::int64_t row_stride = g.out_h == 1 ? g.height * g.width : g.stride_h * g.width;
  return t.as_strided({nb * g.positions(), g.patch_size()}, {row_stride, 1}, t.offset() + b0 * g.height * g.width);
}

/// Whether that view covers every input element exactly once (then dx needs no zero fill).
bool patch_view_covers_input(const Conv2dGeometry& g) {
  return g.out_h * g.kernel_h == g.height && (g.out_h == 1 || g.stride_h == g.kernel_h);
}

/// Fills the logical cols [nb * P, C*kh*kw] with the patches of samples [b0, b0 + nb).
void im2row(const Tensor& x, const Conv2dGeometry& g, std::int64_t b0, std::int64_t nb, const Tensor& cols,
            PatchLayout layout) {
  if (x.is_cuda()) return cuda::im2row(x, g, b0, nb, cols);
  cpu::im2row(x, g, b0, nb, cols, layout);
}

/// Writes dx for samples [b0, b0 + nb) from the logical dcols (the adjoint of im2row).
void row2im(const Tensor& dcols, const Conv2dGeometry& g, std::int64_t b0, std::int64_t nb, const Tensor& dx,
            PatchLayout layout) {
  if (dx.is_cuda()) return cuda::row2im(dcols, g, b0, nb, dx);
  cpu::row2im(dcols, g, b0, nb, dx, layout);
}

/// out[b, o, pos] = rows[(b - b0) * P + pos, o] + bias[o] for samples [b0, b0 + nb).
void rows_to_output(const Tensor& rows, const Tensor& bias, const Conv2dGeometry& g, std::int64_t b0, std::int64_t nb,
                    const Tensor& out, PatchLayout layout) {
  if (out.is_cuda()) return cuda::rows_to_output(rows, bias, g, b0, nb, out);
  cpu::rows_to_output(rows, bias, g, b0, nb, out, layout);
}

/// rows[(b - b0) * P + pos, o] = grad[b, o, pos] for samples [b0, b0 + nb).
void output_to_rows(const Tensor& grad, const Conv2dGeometry& g, std::int64_t b0, std::int64_t nb, const Tensor& rows,
                    PatchLayout layout) {
  if (grad.is_cuda()) return cuda::output_to_rows(grad, g, b0, nb, rows);
  cpu::output_to_rows(grad, g, b0, nb, rows, layout);
}

Tensor bias_grad(const Tensor& grad, const Conv2dGeometry& g) {
  if (grad.is_cuda()) return cuda::conv_bias_grad(grad, g);
  return cpu::conv_bias_grad(grad, g);
}

/// Columns of group `group` of a [rows, groups * width] matrix.
Tensor group_columns(const Tensor& matrix, std::int64_t group, std::int64_t width) {
  return narrow(matrix, 1, group * width, width);
}

}  // namespace

Conv2dGeometry conv2d_geometry(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options,
                               std::string_view op) {
  RG_CHECK(x.dim() == 4 && weight.dim() == 4, op,
           ": expected input [B, C, H, W] and weight [O, C/groups, kh, kw], got ", x.shape(), " and ", weight.shape());
  RG_CHECK(x.dtype() == weight.dtype() && is_floating(x.dtype()), op,
           ": expected floating input and weight of one dtype, got ", x.dtype(), " ", x.shape(), " and ",
           weight.dtype(), " ", weight.shape());
  RG_CHECK(x.device() == weight.device(), op, ": input on ", x.device(), " but weight on ", weight.device());
  const std::int64_t groups = options.groups;
  RG_CHECK(groups >= 1, op, ": groups must be positive, got ", groups);
  for (int d = 0; d < 2; ++d) {
    RG_CHECK(options.stride[d] >= 1 && options.padding[d] >= 0 && options.dilation[d] >= 1, op,
             ": expected stride >= 1, padding >= 0 and dilation >= 1, got stride (", options.stride[0], ", ",
             options.stride[1], "), padding (", options.padding[0], ", ", options.padding[1], "), dilation (",
             options.dilation[0], ", ", options.dilation[1], ")");
  }
  Conv2dGeometry g;
  g.batch = x.size(0);
  g.in_channels = x.size(1);
  g.height = x.size(2);
  g.width = x.size(3);
  g.out_channels = weight.size(0);
  g.kernel_h = weight.size(2);
  g.kernel_w = weight.size(3);
  g.stride_h = options.stride[0];
  g.stride_w = options.stride[1];
  g.pad_h = options.padding[0];
  g.pad_w = options.padding[1];
  g.dilation_h = options.dilation[0];
  g.dilation_w = options.dilation[1];
  g.groups = groups;
  RG_CHECK(g.out_channels > 0 && g.out_channels % groups == 0 && weight.size(1) > 0 && g.kernel_h > 0 && g.kernel_w > 0,
           op, ": weight ", weight.shape(), " must have positive extents and out_channels divisible by groups (",
           groups, ")");
  RG_CHECK(g.in_channels == weight.size(1) * groups, op, ": input ", x.shape(), " has ", g.in_channels,
           " channels but weight ", weight.shape(), " with groups ", groups, " expects ", weight.size(1) * groups);
  const std::int64_t span_h = g.dilation_h * (g.kernel_h - 1) + 1, span_w = g.dilation_w * (g.kernel_w - 1) + 1;
  const std::int64_t padded_h = g.height + 2 * g.pad_h, padded_w = g.width + 2 * g.pad_w;
  RG_CHECK(padded_h >= span_h && padded_w >= span_w, op, ": input ", x.shape(), " padded to (", padded_h, ", ",
           padded_w, ") is smaller than the dilated kernel (", span_h, ", ", span_w, ") of weight ", weight.shape());
  g.out_h = (padded_h - span_h) / g.stride_h + 1;
  g.out_w = (padded_w - span_w) / g.stride_w + 1;
  if (bias.defined()) {
    RG_CHECK(bias.dim() == 1 && bias.size(0) == g.out_channels && bias.dtype() == x.dtype(), op, ": bias ",
             bias.shape(), " ", bias.dtype(), " does not match weight ", weight.shape(), " ", weight.dtype(),
             " (expected [", g.out_channels, "])");
    RG_CHECK(bias.device() == x.device(), op, ": bias on ", bias.device(), " but input on ", x.device());
  }
  return g;
}

Tensor conv2d(const Tensor& x_in, const Tensor& weight_in, const Tensor& bias_in, const Conv2dOptions& options) {
  const Conv2dGeometry g = conv2d_geometry(x_in, weight_in, bias_in, options, "conv2d");
  Tensor out = Tensor::empty({g.batch, g.out_channels, g.out_h, g.out_w}, x_in.dtype(), x_in.device());
  if (out.numel() == 0) return out;
  const Tensor x = contiguous(x_in);
  const Tensor weight = view(contiguous(weight_in), {g.out_channels, g.group_patch_size()});
  const Tensor bias = bias_in.defined() ? contiguous(bias_in) : Tensor();
  const PatchLayout layout = choose_layout(g, x.device());
  const bool direct = layout == PatchLayout::PositionMajor && patches_are_a_view(g);
  const std::int64_t chunk = direct ? g.batch : batch_chunk(g), og = g.group_out_channels(), kg = g.group_patch_size();
  const Tensor cols_buffer =
      direct ? Tensor() : Tensor::empty({chunk * g.positions() * g.patch_size()}, x.dtype(), x.device());
  const Tensor rows_buffer = Tensor::empty({chunk * g.positions() * g.out_channels}, x.dtype(), x.device());
  for (std::int64_t b0 = 0; b0 < g.batch; b0 += chunk) {
    const std::int64_t nb = std::min(chunk, g.batch - b0), n = nb * g.positions();
    const Tensor cols = direct ? patch_view(x, g, b0, nb) : logical_matrix(cols_buffer, n, g.patch_size(), layout);
    const Tensor rows = logical_matrix(rows_buffer, n, g.out_channels, layout);
    if (!direct) im2row(x, g, b0, nb, cols, layout);
    for (std::int64_t group = 0; group < g.groups; ++group) {
      // rows[:, group] = cols[:, group] @ w[group]^T
      gemm_logical(group_columns(rows, group, og), group_columns(cols, group, kg),
                   transpose(narrow(weight, 0, group * og, og), 0, 1), layout);
    }
    rows_to_output(rows, bias, g, b0, nb, out, layout);
  }
  out.bump_version();
  return out;
}

Conv2dGrads conv2d_backward(const Tensor& grad_out, const Tensor& x_in, const Tensor& weight_in,
                            const Conv2dOptions& options, bool need_x, bool need_weight, bool need_bias) {
  const Conv2dGeometry g = conv2d_geometry(x_in, weight_in, Tensor(), options, "conv2d_backward");
  const Shape out_shape{g.batch, g.out_channels, g.out_h, g.out_w};
  RG_CHECK(grad_out.shape() == out_shape && grad_out.dtype() == x_in.dtype() && grad_out.device() == x_in.device(),
           "conv2d_backward: gradient ", grad_out.shape(), " ", grad_out.dtype(), " on ", grad_out.device(),
           " does not match the output ", out_shape, " ", x_in.dtype(), " on ", x_in.device());
  Conv2dGrads grads;
  const Tensor grad = contiguous(grad_out);
  if (need_bias) grads.bias = bias_grad(grad, g);
  if (need_x) grads.x = Tensor::empty(x_in.shape(), x_in.dtype(), x_in.device());
  if (need_weight) grads.weight = Tensor::empty(weight_in.shape(), weight_in.dtype(), weight_in.device());
  if (!need_x && !need_weight) return grads;
  if (g.batch == 0) {
    if (need_weight) fill_(grads.weight, 0.0);
    return grads;
  }
  const Tensor x = need_weight ? contiguous(x_in) : Tensor();
  const std::int64_t og = g.group_out_channels(), kg = g.group_patch_size();
  const Tensor weight = view(contiguous(weight_in), {g.out_channels, kg});
  const Tensor dweight = need_weight ? view(grads.weight, {g.out_channels, kg}) : Tensor();
  const PatchLayout layout = choose_layout(g, x_in.device());
  const bool direct = layout == PatchLayout::PositionMajor && patches_are_a_view(g);
  const std::int64_t chunk = direct ? g.batch : batch_chunk(g);
  const Tensor cols_buffer =
      direct ? Tensor() : Tensor::empty({chunk * g.positions() * g.patch_size()}, x_in.dtype(), x_in.device());
  const Tensor rows_buffer = Tensor::empty({chunk * g.positions() * g.out_channels}, x_in.dtype(), x_in.device());
  if (direct && need_x && !patch_view_covers_input(g)) fill_(grads.x, 0.0);
  for (std::int64_t b0 = 0; b0 < g.batch; b0 += chunk) {
    const std::int64_t nb = std::min(chunk, g.batch - b0), n = nb * g.positions();
    const Tensor cols = direct ? (need_weight ? patch_view(x, g, b0, nb) : Tensor())
                               : logical_matrix(cols_buffer, n, g.patch_size(), layout);
    const Tensor rows = logical_matrix(rows_buffer, n, g.out_channels, layout);
    output_to_rows(grad, g, b0, nb, rows, layout);
    if (need_weight) {
      if (!direct) im2row(x, g, b0, nb, cols, layout);
      for (std::int64_t group = 0; group < g.groups; ++group) {
        // dw[group] (+)= dY_rows[:, group]^T @ cols[:, group]
        gemm_into(narrow(dweight, 0, group * og, og), transpose(group_columns(rows, group, og), 0, 1),
                  group_columns(cols, group, kg), 1.0, b0 == 0 ? 0.0 : 1.0);
      }
    }
    if (need_x) {
      // dcols: the patch buffer is reused, or, when the patches are a view, the same view of dx.
      const Tensor dcols = direct ? patch_view(grads.x, g, b0, nb) : cols;
      for (std::int64_t group = 0; group < g.groups; ++group) {
        // dcols[:, group] = dY_rows[:, group] @ w[group]
        gemm_logical(group_columns(dcols, group, kg), group_columns(rows, group, og), narrow(weight, 0, group * og, og),
                     layout);
      }
      if (!direct) row2im(dcols, g, b0, nb, grads.x, layout);
    }
  }
  if (need_x) grads.x.bump_version();
  return grads;
}

}  // namespace recgrad::raw
