#include "core/cpu/conv.h"

#include <algorithm>
#include <cstring>

#include "core/cpu/parallel.h"

namespace recgrad::cpu {
namespace {

using raw::Conv2dGeometry;

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

}  // namespace

void im2row(const Tensor& x, const raw::Conv2dGeometry& g, std::int64_t b0, std::int64_t nb, const Tensor& cols,
            raw::PatchLayout layout) {
  visit_floating(x.dtype(), "conv2d", [&]<typename T>(T) {
    T* out = static_cast<T*>(cols.raw_data());
    if (layout == raw::PatchLayout::PositionMajor) return im2row_cpu<T>(x.data<T>(), g, b0, nb, out);
    im2col_cpu<T>(x.data<T>(), g, b0, nb, out);
  });
}

void row2im(const Tensor& dcols, const raw::Conv2dGeometry& g, std::int64_t b0, std::int64_t nb, const Tensor& dx,
            raw::PatchLayout layout) {
  visit_floating(dx.dtype(), "conv2d_backward", [&]<typename T>(T) {
    const T* in = static_cast<const T*>(dcols.raw_data());
    if (layout == raw::PatchLayout::PositionMajor) return row2im_cpu<T>(in, g, b0, nb, dx.data<T>());
    col2im_cpu<T>(in, g, b0, nb, dx.data<T>());
  });
}

void rows_to_output(const Tensor& rows, const Tensor& bias, const raw::Conv2dGeometry& g, std::int64_t b0,
                    std::int64_t nb, const Tensor& out, raw::PatchLayout layout) {
  visit_floating(out.dtype(), "conv2d", [&]<typename T>(T) {
    const T* in = static_cast<const T*>(rows.raw_data());
    const T* shift = bias.defined() ? bias.data<T>() : nullptr;
    if (layout == raw::PatchLayout::PositionMajor) return rows_to_output_cpu<T>(in, shift, g, b0, nb, out.data<T>());
    cols_to_output_cpu<T>(in, shift, g, b0, nb, out.data<T>());
  });
}

void output_to_rows(const Tensor& grad, const raw::Conv2dGeometry& g, std::int64_t b0, std::int64_t nb,
                    const Tensor& rows, raw::PatchLayout layout) {
  visit_floating(grad.dtype(), "conv2d_backward", [&]<typename T>(T) {
    T* out = static_cast<T*>(rows.raw_data());
    if (layout == raw::PatchLayout::PositionMajor) return output_to_rows_cpu<T>(grad.data<T>(), g, b0, nb, out);
    output_to_cols_cpu<T>(grad.data<T>(), g, b0, nb, out);
  });
}

Tensor conv_bias_grad(const Tensor& grad, const raw::Conv2dGeometry& g) {
  Tensor db = Tensor::empty({g.out_channels}, grad.dtype(), grad.device());
  visit_floating(grad.dtype(), "conv2d_backward",
                 [&]<typename T>(T) { bias_grad_cpu<T>(grad.data<T>(), g, db.data<T>()); });
  return db;
}

}  // namespace recgrad::cpu
