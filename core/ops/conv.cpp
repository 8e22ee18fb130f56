#include "core/ops/conv.h"

#include <algorithm>
#include <cstring>

#include "core/cpu/parallel.h"
#include "core/ops/copy.h"
#include "core/ops/matmul.h"
#include "core/ops/view.h"

#if RECGRAD_WITH_CUDA
#include "core/cuda/conv.h"
#endif

namespace recgrad::raw {

namespace {

#if RECGRAD_WITH_CUDA
constexpr bool kCudaBuilt = true;
#else
constexpr bool kCudaBuilt = false;
#endif

/// Elements of the patch matrix per batch chunk (8 MB in f32): large enough for efficient GEMMs, small
/// enough to stay in cache on the CPU and to bound the memory of large images.
constexpr std::int64_t kPatchBudget = std::int64_t{1} << 21;

/// Samples per chunk: as many as fit in kPatchBudget, at least one.
std::int64_t batch_chunk(const Conv2dGeometry& g) {
  const std::int64_t per_sample = std::max<std::int64_t>(1, g.positions() * g.patch_size());
  return std::clamp<std::int64_t>(kPatchBudget / per_sample, 1, std::max<std::int64_t>(g.batch, 1));
}

/// The valid kernel columns [begin, end) of a row whose first tap reads input column w0: those j with
/// 0 <= w0 + j * dw < W.
struct TapRange {
  std::int64_t begin, end;
};
TapRange valid_taps(std::int64_t w0, std::int64_t dw, std::int64_t width, std::int64_t kw) {
  const std::int64_t begin = w0 >= 0 ? 0 : (-w0 + dw - 1) / dw;
  const std::int64_t end = width - w0 <= 0 ? 0 : std::min<std::int64_t>(kw, (width - w0 + dw - 1) / dw);
  return {std::min(begin, kw), std::max(std::min(begin, kw), end)};
}

// ---- CPU kernels (dense operands) ----

/// cols[(b - b0) * P + oh * Wo + ow, (c * kh + i) * kw + j] = x[b, c, oh*sh - ph + i*dh, ow*sw - pw + j*dw]
/// (0 outside the input) for samples b in [b0, b0 + nb).
template <typename T>
void im2row_cpu(const T* x, const Conv2dGeometry& g, std::int64_t b0, std::int64_t nb, T* cols) {
  const std::int64_t positions = g.positions(), patch = g.patch_size();
  cpu::parallel_for(nb * positions, patch, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const std::int64_t b = b0 + r / positions, pos = r % positions;
      const std::int64_t h0 = (pos / g.out_w) * g.stride_h - g.pad_h, w0 = (pos % g.out_w) * g.stride_w - g.pad_w;
      const TapRange taps = valid_taps(w0, g.dilation_w, g.width, g.kernel_w);
      T* dst = cols + r * patch;
      for (std::int64_t c = 0; c < g.in_channels; ++c) {
        const T* plane = x + (b * g.in_channels + c) * g.height * g.width;
        for (std::int64_t i = 0; i < g.kernel_h; ++i, dst += g.kernel_w) {
          const std::int64_t ih = h0 + i * g.dilation_h;
          if (ih < 0 || ih >= g.height) {
            std::fill(dst, dst + g.kernel_w, T(0));
            continue;
          }
          const T* src = plane + ih * g.width;
          std::fill(dst, dst + taps.begin, T(0));
          if (g.dilation_w == 1) {
            std::copy(src + (w0 + taps.begin), src + (w0 + taps.end), dst + taps.begin);
          } else {
            for (std::int64_t j = taps.begin; j < taps.end; ++j) dst[j] = src[w0 + j * g.dilation_w];
          }
          std::fill(dst + taps.end, dst + g.kernel_w, T(0));
        }
      }
    }
  });
}

/// The adjoint of im2row: dx[b] = sum over the rows of sample b of their entries scattered back to the input
/// positions they were read from, for samples b in [b0, b0 + nb). Writes (does not accumulate) those samples.
template <typename T>
void row2im_cpu(const T* dcols, const Conv2dGeometry& g, std::int64_t b0, std::int64_t nb, T* dx) {
  const std::int64_t positions = g.positions(), patch = g.patch_size();
  const std::int64_t sample = g.in_channels * g.height * g.width;
  cpu::parallel_for(nb, positions * patch, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t local = begin; local < end; ++local) {
      T* out = dx + (b0 + local) * sample;
      std::fill(out, out + sample, T(0));
      for (std::int64_t pos = 0; pos < positions; ++pos) {
        const std::int64_t h0 = (pos / g.out_w) * g.stride_h - g.pad_h, w0 = (pos % g.out_w) * g.stride_w - g.pad_w;
        const TapRange taps = valid_taps(w0, g.dilation_w, g.width, g.kernel_w);
        const T* src = dcols + (local * positions + pos) * patch;
        for (std::int64_t c = 0; c < g.in_channels; ++c) {
          T* plane = out + c * g.height * g.width;
          for (std::int64_t i = 0; i < g.kernel_h; ++i, src += g.kernel_w) {
            const std::int64_t ih = h0 + i * g.dilation_h;
            if (ih < 0 || ih >= g.height) continue;
            T* row = plane + ih * g.width;
            for (std::int64_t j = taps.begin; j < taps.end; ++j) row[w0 + j * g.dilation_w] += src[j];
          }
        }
      }
    }
  });
}

/// out[b, o, pos] = rows[(b - b0) * P + pos, o] + bias[o] (bias may be null) for b in [b0, b0 + nb).
template <typename T>
void rows_to_output_cpu(const T* rows, const T* bias, const Conv2dGeometry& g, std::int64_t b0, std::int64_t nb,
                        T* out) {
  const std::int64_t positions = g.positions(), channels = g.out_channels;
  cpu::parallel_for(nb * channels, positions, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t item = begin; item < end; ++item) {
      const std::int64_t local = item / channels, o = item % channels;
      const T shift = bias != nullptr ? bias[o] : T(0);
      const T* src = rows + local * positions * channels + o;
      T* dst = out + ((b0 + local) * channels + o) * positions;
      for (std::int64_t pos = 0; pos < positions; ++pos) dst[pos] = src[pos * channels] + shift;
    }
  });
}

/// rows[(b - b0) * P + pos, o] = grad[b, o, pos] for b in [b0, b0 + nb): the transpose of rows_to_output.
template <typename T>
void output_to_rows_cpu(const T* grad, const Conv2dGeometry& g, std::int64_t b0, std::int64_t nb, T* rows) {
  const std::int64_t positions = g.positions(), channels = g.out_channels;
  cpu::parallel_for(nb, positions * channels, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t local = begin; local < end; ++local) {
      const T* src = grad + (b0 + local) * channels * positions;
      T* dst = rows + local * positions * channels;
      for (std::int64_t pos = 0; pos < positions; ++pos)
        for (std::int64_t o = 0; o < channels; ++o) dst[pos * channels + o] = src[o * positions + pos];
    }
  });
}

// The channel-major layout (CPU only, chosen when output rows are longer than kernel rows): the patch
// matrix is stored transposed, colsT [C*kh*kw, n] with n = nb * P, so im2col copies runs of Wo outputs
// and the output transposes move runs of P positions.

/// colsT[(c * kh + i) * kw + j, (b - b0) * P + oh * Wo + ow] = x[b, c, oh*sh - ph + i*dh, ow*sw - pw + j*dw].
template <typename T>
void im2col_cpu(const T* x, const Conv2dGeometry& g, std::int64_t b0, std::int64_t nb, T* cols) {
  const std::int64_t positions = g.positions(), n = nb * positions, taps = g.kernel_h * g.kernel_w;
  cpu::parallel_for(g.patch_size() * nb, positions, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t item = begin; item < end; ++item) {
      const std::int64_t k = item / nb, local = item % nb;
      const std::int64_t c = k / taps, i = (k % taps) / g.kernel_w, j = k % g.kernel_w;
      const T* plane = x + ((b0 + local) * g.in_channels + c) * g.height * g.width;
      const std::int64_t w_shift = j * g.dilation_w - g.pad_w;  // iw = ow * sw + w_shift
      const TapRange outs = valid_taps(w_shift, g.stride_w, g.width, g.out_w);
      T* dst = cols + k * n + local * positions;
      for (std::int64_t oh = 0; oh < g.out_h; ++oh, dst += g.out_w) {
        const std::int64_t ih = oh * g.stride_h - g.pad_h + i * g.dilation_h;
        if (ih < 0 || ih >= g.height) {
          std::fill(dst, dst + g.out_w, T(0));
          continue;
        }
        const T* src = plane + ih * g.width;
        std::fill(dst, dst + outs.begin, T(0));
        if (g.stride_w == 1) {
          std::copy(src + (outs.begin + w_shift), src + (outs.end + w_shift), dst + outs.begin);
        } else {
          for (std::int64_t ow = outs.begin; ow < outs.end; ++ow) dst[ow] = src[ow * g.stride_w + w_shift];
        }
        std::fill(dst + outs.end, dst + g.out_w, T(0));
      }
    }
  });
}

/// The adjoint of im2col: writes dx[b] for b in [b0, b0 + nb), one (sample, channel) plane per task.
template <typename T>
void col2im_cpu(const T* dcols, const Conv2dGeometry& g, std::int64_t b0, std::int64_t nb, T* dx) {
  const std::int64_t positions = g.positions(), n = nb * positions, plane_size = g.height * g.width;
  cpu::parallel_for(nb * g.in_channels, positions * g.kernel_h * g.kernel_w, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t item = begin; item < end; ++item) {
      const std::int64_t local = item / g.in_channels, c = item % g.in_channels;
      T* plane = dx + ((b0 + local) * g.in_channels + c) * plane_size;
      std::fill(plane, plane + plane_size, T(0));
      for (std::int64_t i = 0; i < g.kernel_h; ++i) {
        for (std::int64_t j = 0; j < g.kernel_w; ++j) {
          const std::int64_t k = (c * g.kernel_h + i) * g.kernel_w + j;
          const std::int64_t w_shift = j * g.dilation_w - g.pad_w;
          const TapRange outs = valid_taps(w_shift, g.stride_w, g.width, g.out_w);
          const T* src = dcols + k * n + local * positions;
          for (std::int64_t oh = 0; oh < g.out_h; ++oh, src += g.out_w) {
            const std::int64_t ih = oh * g.stride_h - g.pad_h + i * g.dilation_h;
            if (ih < 0 || ih >= g.height) continue;
            T* row = plane + ih * g.width;
            if (g.stride_w == 1) {
              T* shifted = row + (w_shift + outs.begin);
              const T* from = src + outs.begin;
              for (std::int64_t e = 0; e < outs.end - outs.begin; ++e) shifted[e] += from[e];
            } else {
              for (std::int64_t ow = outs.begin; ow < outs.end; ++ow) row[ow * g.stride_w + w_shift] += src[ow];
            }
          }
        }
      }
    }
  });
}

/// out[b, o, pos] = rowsT[o, (b - b0) * P + pos] + bias[o] (bias may be null): runs of P.
template <typename T>
void cols_to_output_cpu(const T* rows, const T* bias, const Conv2dGeometry& g, std::int64_t b0, std::int64_t nb,
                        T* out) {
  const std::int64_t positions = g.positions(), channels = g.out_channels, n = nb * positions;
  cpu::parallel_for(nb * channels, positions, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t item = begin; item < end; ++item) {
      const std::int64_t local = item / channels, o = item % channels;
      const T shift = bias != nullptr ? bias[o] : T(0);
      const T* src = rows + o * n + local * positions;
      T* dst = out + ((b0 + local) * channels + o) * positions;
      for (std::int64_t pos = 0; pos < positions; ++pos) dst[pos] = src[pos] + shift;
    }
  });
}

/// rowsT[o, (b - b0) * P + pos] = grad[b, o, pos]: runs of P.
template <typename T>
void output_to_cols_cpu(const T* grad, const Conv2dGeometry& g, std::int64_t b0, std::int64_t nb, T* rows) {
  const std::int64_t positions = g.positions(), channels = g.out_channels, n = nb * positions;
  cpu::parallel_for(nb * channels, positions, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t item = begin; item < end; ++item) {
      const std::int64_t local = item / channels, o = item % channels;
      const T* src = grad + ((b0 + local) * channels + o) * positions;
      std::copy(src, src + positions, rows + o * n + local * positions);
    }
  });
}

/// db[o] = sum over b and pos of grad[b, o, pos], accumulated in double.
template <typename T>
void bias_grad_cpu(const T* grad, const Conv2dGeometry& g, T* db) {
  const std::int64_t positions = g.positions(), channels = g.out_channels;
  cpu::parallel_for(channels, g.batch * positions, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t o = begin; o < end; ++o) {
      double total = 0.0;
      for (std::int64_t b = 0; b < g.batch; ++b) {
        const T* src = grad + (b * channels + o) * positions;
        T partial = T(0);
        for (std::int64_t pos = 0; pos < positions; ++pos) partial += src[pos];
        total += static_cast<double>(partial);
      }
      db[o] = static_cast<T>(total);
    }
  });
}

// ---- device dispatch ----

/// How the patch matrix is stored. Both layouts present the same logical matrices to the GEMMs, cols
/// [n, C*kh*kw] and rows [n, O] (n = samples * positions); channel-major stores their transposes.
enum class PatchLayout { PositionMajor, ChannelMajor };

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
#if RECGRAD_WITH_CUDA
  if (x.device().is_cuda()) return cuda::im2row(x, g, b0, nb, cols);
#endif
  visit_floating(x.dtype(), "conv2d", [&]<typename T>(T) {
    T* out = static_cast<T*>(cols.raw_data());
    if (layout == PatchLayout::PositionMajor) return im2row_cpu<T>(x.data<T>(), g, b0, nb, out);
    im2col_cpu<T>(x.data<T>(), g, b0, nb, out);
  });
}

/// Writes dx for samples [b0, b0 + nb) from the logical dcols (the adjoint of im2row).
void row2im(const Tensor& dcols, const Conv2dGeometry& g, std::int64_t b0, std::int64_t nb, const Tensor& dx,
            PatchLayout layout) {
#if RECGRAD_WITH_CUDA
  if (dx.device().is_cuda()) return cuda::row2im(dcols, g, b0, nb, dx);
#endif
  visit_floating(dx.dtype(), "conv2d_backward", [&]<typename T>(T) {
    const T* in = static_cast<const T*>(dcols.raw_data());
    if (layout == PatchLayout::PositionMajor) return row2im_cpu<T>(in, g, b0, nb, dx.data<T>());
    col2im_cpu<T>(in, g, b0, nb, dx.data<T>());
  });
}

/// out[b, o, pos] = rows[(b - b0) * P + pos, o] + bias[o] for samples [b0, b0 + nb).
void rows_to_output(const Tensor& rows, const Tensor& bias, const Conv2dGeometry& g, std::int64_t b0, std::int64_t nb,
                    const Tensor& out, PatchLayout layout) {
#if RECGRAD_WITH_CUDA
  if (out.device().is_cuda()) return cuda::rows_to_output(rows, bias, g, b0, nb, out);
#endif
  visit_floating(out.dtype(), "conv2d", [&]<typename T>(T) {
    const T* in = static_cast<const T*>(rows.raw_data());
    const T* shift = bias.defined() ? bias.data<T>() : nullptr;
    if (layout == PatchLayout::PositionMajor) return rows_to_output_cpu<T>(in, shift, g, b0, nb, out.data<T>());
    cols_to_output_cpu<T>(in, shift, g, b0, nb, out.data<T>());
  });
}

/// rows[(b - b0) * P + pos, o] = grad[b, o, pos] for samples [b0, b0 + nb).
void output_to_rows(const Tensor& grad, const Conv2dGeometry& g, std::int64_t b0, std::int64_t nb, const Tensor& rows,
                    PatchLayout layout) {
#if RECGRAD_WITH_CUDA
  if (grad.device().is_cuda()) return cuda::output_to_rows(grad, g, b0, nb, rows);
#endif
  visit_floating(grad.dtype(), "conv2d_backward", [&]<typename T>(T) {
    T* out = static_cast<T*>(rows.raw_data());
    if (layout == PatchLayout::PositionMajor) return output_to_rows_cpu<T>(grad.data<T>(), g, b0, nb, out);
    output_to_cols_cpu<T>(grad.data<T>(), g, b0, nb, out);
  });
}

Tensor bias_grad(const Tensor& grad, const Conv2dGeometry& g) {
#if RECGRAD_WITH_CUDA
  if (grad.device().is_cuda()) return cuda::conv_bias_grad(grad, g);
#endif
  Tensor db = Tensor::empty({g.out_channels}, grad.dtype(), grad.device());
  visit_floating(grad.dtype(), "conv2d_backward",
                 [&]<typename T>(T) { bias_grad_cpu<T>(grad.data<T>(), g, db.data<T>()); });
  return db;
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
  RG_CHECK(x.device().is_cpu() || (kCudaBuilt && x.device().is_cuda()), op, ": device ", x.device(),
           " not supported in this build");
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
