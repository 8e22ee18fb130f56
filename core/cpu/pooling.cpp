#include "core/cpu/pooling.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/cpu/parallel.h"

namespace recgrad::cpu {
namespace {

using raw::Pool2dGeometry;

// ---- CPU kernels (dense operands, one plane at a time) ----

/// For ow in [lo, hi): the tap value v = row[ow * stride + shift] replaces best[ow] (and its index, base + ow *
/// stride + shift) when v > best[ow] or v is NaN. Restrict-qualified so the selects stay branch-free.
template <typename T>
void select_max_row(const T* __restrict__ row, std::int64_t base, std::int64_t shift, std::int64_t stride,
                    std::int64_t lo, std::int64_t hi, T* __restrict__ best, std::int64_t* __restrict__ best_index) {
  for (std::int64_t ow = lo; ow < hi; ++ow) {
    const std::int64_t iw = ow * stride + shift;
    const T value = row[iw];
    const T current = best[ow];
    const bool take = value > current || value != value;  // value != value: NaN wins
    best[ow] = take ? value : current;
    best_index[ow] = take ? base + iw : best_index[ow];
  }
}

/// Max pooling of one output row at a time: the taps are visited in PyTorch's order (kernel rows, then
/// columns), each tap for every output of the row in one loop of branch-free selects that the compiler
/// vectorises (on random data a per-window branch is a coin flip the predictor cannot learn).
template <typename T>
void max_pool_cpu(const T* x, const Pool2dGeometry& g, T* y, std::int64_t* indices) {
  const std::int64_t plane_in = g.height * g.width, plane_out = g.out_h * g.out_w;
  cpu::parallel_for(g.planes, plane_out * g.kernel_h * g.kernel_w, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t p = begin; p < end; ++p) {
      const T* in = x + p * plane_in;
      for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
        std::int64_t h0 = oh * g.stride_h - g.pad_h;
        const std::int64_t h1 = std::min(h0 + (g.kernel_h - 1) * g.dilation_h + 1, g.height);
        while (h0 < 0) h0 += g.dilation_h;
        T* best = y + p * plane_out + oh * g.out_w;
        std::int64_t* best_index = indices + p * plane_out + oh * g.out_w;
        // Before any tap: -inf at the window's first in-bounds position (PyTorch's initial index).
        for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
          std::int64_t w0 = ow * g.stride_w - g.pad_w;
          while (w0 < 0) w0 += g.dilation_w;
          best[ow] = -std::numeric_limits<T>::infinity();
          best_index[ow] = h0 * g.width + w0;
        }
        for (std::int64_t ih = h0; ih < h1; ih += g.dilation_h) {
          const T* row = in + ih * g.width;
          for (std::int64_t j = 0; j < g.kernel_w; ++j) {
            // Outputs whose tap j reads an in-bounds column iw = ow * sw + shift.
            const std::int64_t shift = j * g.dilation_w - g.pad_w;
            const std::int64_t lo = shift >= 0 ? 0 : (-shift + g.stride_w - 1) / g.stride_w;
            const std::int64_t hi =
                g.width - shift <= 0 ? 0 : std::min(g.out_w, (g.width - shift + g.stride_w - 1) / g.stride_w);
            select_max_row(row, ih * g.width, shift, g.stride_w, lo, hi, best, best_index);
          }
        }
      }
    }
  });
}

template <typename T>
void max_pool_backward_cpu(const T* grad, const std::int64_t* indices, const Pool2dGeometry& g, T* dx) {
  const std::int64_t plane_in = g.height * g.width, plane_out = g.out_h * g.out_w;
  cpu::parallel_for(g.planes, plane_in + plane_out, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t p = begin; p < end; ++p) {
      T* out = dx + p * plane_in;
      std::fill(out, out + plane_in, T(0));
      for (std::int64_t o = p * plane_out; o < (p + 1) * plane_out; ++o) out[indices[o]] += grad[o];
    }
  });
}

/// The window of output (oh, ow) for average pooling: [h0, h1) x [w0, w1) clipped to the input, and the
/// divisor (taps within the padded input, or within the input itself).
struct AvgWindow {
  std::int64_t h0, h1, w0, w1, divisor;
};
AvgWindow avg_window(const Pool2dGeometry& g, std::int64_t oh, std::int64_t ow, bool count_include_pad) {
  std::int64_t h0 = oh * g.stride_h - g.pad_h, w0 = ow * g.stride_w - g.pad_w;
  std::int64_t h1 = std::min(h0 + g.kernel_h, g.height + g.pad_h), w1 = std::min(w0 + g.kernel_w, g.width + g.pad_w);
  const std::int64_t padded_taps = (h1 - h0) * (w1 - w0);
  h0 = std::max<std::int64_t>(h0, 0);
  w0 = std::max<std::int64_t>(w0, 0);
  h1 = std::min(h1, g.height);
  w1 = std::min(w1, g.width);
  const std::int64_t inner_taps = std::max<std::int64_t>(h1 - h0, 0) * std::max<std::int64_t>(w1 - w0, 0);
  return {h0, h1, w0, w1, count_include_pad ? padded_taps : inner_taps};
}

template <typename T>
void avg_pool_cpu(const T* x, const Pool2dGeometry& g, bool count_include_pad, T* y) {
  const std::int64_t plane_in = g.height * g.width, plane_out = g.out_h * g.out_w;
  cpu::parallel_for(g.planes, plane_out * g.kernel_h * g.kernel_w, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t p = begin; p < end; ++p) {
      const T* in = x + p * plane_in;
      for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
        for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
          const AvgWindow win = avg_window(g, oh, ow, count_include_pad);
          T total = T(0);
          for (std::int64_t ih = win.h0; ih < win.h1; ++ih)
            for (std::int64_t iw = win.w0; iw < win.w1; ++iw) total += in[ih * g.width + iw];
          y[p * plane_out + oh * g.out_w + ow] =
              win.h0 >= win.h1 || win.w0 >= win.w1 ? T(0) : total / static_cast<T>(win.divisor);
        }
      }
    }
  });
}

template <typename T>
void avg_pool_backward_cpu(const T* grad, const Pool2dGeometry& g, bool count_include_pad, T* dx) {
  const std::int64_t plane_in = g.height * g.width, plane_out = g.out_h * g.out_w;
  cpu::parallel_for(g.planes, plane_in + plane_out * g.kernel_h * g.kernel_w,
                    [&](std::int64_t begin, std::int64_t end) {
                      for (std::int64_t p = begin; p < end; ++p) {
                        T* out = dx + p * plane_in;
                        std::fill(out, out + plane_in, T(0));
                        for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
                          for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
                            const AvgWindow win = avg_window(g, oh, ow, count_include_pad);
                            if (win.h0 >= win.h1 || win.w0 >= win.w1) continue;
                            const T share = grad[p * plane_out + oh * g.out_w + ow] / static_cast<T>(win.divisor);
                            for (std::int64_t ih = win.h0; ih < win.h1; ++ih)
                              for (std::int64_t iw = win.w0; iw < win.w1; ++iw) out[ih * g.width + iw] += share;
                          }
                        }
                      }
                    });
}

}  // namespace

raw::MaxPool2dResult max_pool2d(const Tensor& x, const raw::Pool2dGeometry& g, const Shape& out_shape) {
  raw::MaxPool2dResult result{Tensor::empty(out_shape, x.dtype(), x.device()),
                              Tensor::empty(out_shape, DType::i64, x.device())};
  visit_floating(x.dtype(), "max_pool2d", [&]<typename T>(T) {
    max_pool_cpu<T>(x.data<T>(), g, result.values.data<T>(), result.indices.data<std::int64_t>());
  });
  return result;
}

Tensor max_pool2d_backward(const Tensor& grad, const Tensor& indices, const raw::Pool2dGeometry& g,
                           const Shape& input_shape) {
  Tensor dx = Tensor::empty(input_shape, grad.dtype(), grad.device());
  visit_floating(grad.dtype(), "max_pool2d_backward", [&]<typename T>(T) {
    max_pool_backward_cpu<T>(grad.data<T>(), indices.data<std::int64_t>(), g, dx.data<T>());
  });
  return dx;
}

Tensor avg_pool2d(const Tensor& x, const raw::Pool2dGeometry& g, bool count_include_pad, const Shape& out_shape) {
  Tensor y = Tensor::empty(out_shape, x.dtype(), x.device());
  visit_floating(x.dtype(), "avg_pool2d",
                 [&]<typename T>(T) { avg_pool_cpu<T>(x.data<T>(), g, count_include_pad, y.data<T>()); });
  return y;
}

Tensor avg_pool2d_backward(const Tensor& grad, const raw::Pool2dGeometry& g, bool count_include_pad,
                           const Shape& input_shape) {
  Tensor dx = Tensor::empty(input_shape, grad.dtype(), grad.device());
  visit_floating(grad.dtype(), "avg_pool2d_backward",
                 [&]<typename T>(T) { avg_pool_backward_cpu<T>(grad.data<T>(), g, count_include_pad, dx.data<T>()); });
  return dx;
}

}  // namespace recgrad::cpu
