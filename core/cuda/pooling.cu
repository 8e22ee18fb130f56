// Max and average pooling on CUDA (see core/cuda/pooling.h).
//
// One thread per output element in a grid-stride loop. The gathers that replace the CPU's scatters
// (the pooling backwards) visit their contributions in increasing output position, which is the order in
// which the CPU kernels add them, so both devices round alike.
#include <cmath>

#include "core/cuda/kernel_utils.cuh"
#include "core/cuda/pooling.h"
#include "core/cuda/runtime_check.h"

namespace recgrad::cuda {
namespace {

using raw::Pool2dGeometry;

template <typename T>
__global__ void max_pool_kernel(const T* __restrict__ x, Pool2dGeometry g, std::int64_t total, T* __restrict__ y,
                                std::int64_t* __restrict__ indices) {
  const std::int64_t plane_out = g.out_h * g.out_w;
  for (std::int64_t e = grid_first(); e < total; e += grid_step()) {
    const std::int64_t p = e / plane_out, oh = (e % plane_out) / g.out_w, ow = e % g.out_w;
    const T* in = x + p * g.height * g.width;
    std::int64_t h0 = oh * g.stride_h - g.pad_h, w0 = ow * g.stride_w - g.pad_w;
    const std::int64_t h1 = min(h0 + (g.kernel_h - 1) * g.dilation_h + 1, g.height);
    const std::int64_t w1 = min(w0 + (g.kernel_w - 1) * g.dilation_w + 1, g.width);
    while (h0 < 0) h0 += g.dilation_h;
    while (w0 < 0) w0 += g.dilation_w;
    T best = -static_cast<T>(INFINITY);  // std::numeric_limits is host-only
    std::int64_t best_index = h0 * g.width + w0;
    for (std::int64_t ih = h0; ih < h1; ih += g.dilation_h) {
      for (std::int64_t iw = w0; iw < w1; iw += g.dilation_w) {
        const T value = in[ih * g.width + iw];
        if (value > best || isnan(value)) {
          best = value;
          best_index = ih * g.width + iw;
        }
      }
    }
    y[e] = best;
    indices[e] = best_index;
  }
}

/// The first output index along one dim whose window (span taps, `stride` apart) can reach input index
/// `in`, and one past the last: PyTorch's p_start / p_end.
__device__ __forceinline__ std::int64_t first_window(std::int64_t in, std::int64_t pad, std::int64_t span,
                                                     std::int64_t stride) {
  return in + pad < span ? 0 : (in + pad - span) / stride + 1;
}
__device__ __forceinline__ std::int64_t end_window(std::int64_t in, std::int64_t pad, std::int64_t stride,
                                                   std::int64_t out) {
  return min((in + pad) / stride + 1, out);
}

template <typename T>
__global__ void max_pool_backward_kernel(const T* __restrict__ grad, const std::int64_t* __restrict__ indices,
                                         Pool2dGeometry g, std::int64_t total, T* __restrict__ dx) {
  const std::int64_t plane_in = g.height * g.width, plane_out = g.out_h * g.out_w;
  const std::int64_t span_h = (g.kernel_h - 1) * g.dilation_h + 1, span_w = (g.kernel_w - 1) * g.dilation_w + 1;
  for (std::int64_t e = grid_first(); e < total; e += grid_step()) {
    const std::int64_t p = e / plane_in, here = e % plane_in, ih = here / g.width, iw = here % g.width;
    const std::int64_t oh_end = end_window(ih, g.pad_h, g.stride_h, g.out_h);
    const std::int64_t ow_begin = first_window(iw, g.pad_w, span_w, g.stride_w);
    const std::int64_t ow_end = end_window(iw, g.pad_w, g.stride_w, g.out_w);
    T sum = T(0);
    for (std::int64_t oh = first_window(ih, g.pad_h, span_h, g.stride_h); oh < oh_end; ++oh) {
      for (std::int64_t ow = ow_begin; ow < ow_end; ++ow) {
        const std::int64_t o = p * plane_out + oh * g.out_w + ow;
        if (indices[o] == here) sum += grad[o];
      }
    }
    dx[e] = sum;
  }
}

/// The average-pooling window of (oh, ow) clipped to the input, and its divisor (core/ops/pooling.cpp).
struct AvgWindow {
  std::int64_t h0, h1, w0, w1, divisor;
};
__device__ __forceinline__ AvgWindow avg_window(const Pool2dGeometry& g, std::int64_t oh, std::int64_t ow,
                                                bool count_include_pad) {
  std::int64_t h0 = oh * g.stride_h - g.pad_h, w0 = ow * g.stride_w - g.pad_w;
  std::int64_t h1 = min(h0 + g.kernel_h, g.height + g.pad_h), w1 = min(w0 + g.kernel_w, g.width + g.pad_w);
  const std::int64_t padded_taps = (h1 - h0) * (w1 - w0);
  h0 = max(h0, std::int64_t{0});
  w0 = max(w0, std::int64_t{0});
  h1 = min(h1, g.height);
  w1 = min(w1, g.width);
  const std::int64_t inner_taps = max(h1 - h0, std::int64_t{0}) * max(w1 - w0, std::int64_t{0});
  return {h0, h1, w0, w1, count_include_pad ? padded_taps : inner_taps};
}

template <typename T>
__global__ void avg_pool_kernel(const T* __restrict__ x, Pool2dGeometry g, bool count_include_pad, std::int64_t total,
                                T* __restrict__ y) {
  const std::int64_t plane_out = g.out_h * g.out_w;
  for (std::int64_t e = grid_first(); e < total; e += grid_step()) {
    const std::int64_t p = e / plane_out, oh = (e % plane_out) / g.out_w, ow = e % g.out_w;
    const T* in = x + p * g.height * g.width;
    const AvgWindow win = avg_window(g, oh, ow, count_include_pad);
    T sum = T(0);
    for (std::int64_t ih = win.h0; ih < win.h1; ++ih)
      for (std::int64_t iw = win.w0; iw < win.w1; ++iw) sum += in[ih * g.width + iw];
    y[e] = win.h0 >= win.h1 || win.w0 >= win.w1 ? T(0) : sum / static_cast<T>(win.divisor);
  }
}

template <typename T>
__global__ void avg_pool_backward_kernel(const T* __restrict__ grad, Pool2dGeometry g, bool count_include_pad,
                                         std::int64_t total, T* __restrict__ dx) {
  const std::int64_t plane_in = g.height * g.width, plane_out = g.out_h * g.out_w;
  for (std::int64_t e = grid_first(); e < total; e += grid_step()) {
    const std::int64_t p = e / plane_in, ih = (e % plane_in) / g.width, iw = e % g.width;
    const std::int64_t oh_end = end_window(ih, g.pad_h, g.stride_h, g.out_h);
    const std::int64_t ow_begin = first_window(iw, g.pad_w, g.kernel_w, g.stride_w);
    const std::int64_t ow_end = end_window(iw, g.pad_w, g.stride_w, g.out_w);
    T sum = T(0);
    for (std::int64_t oh = first_window(ih, g.pad_h, g.kernel_h, g.stride_h); oh < oh_end; ++oh) {
      for (std::int64_t ow = ow_begin; ow < ow_end; ++ow) {
        const AvgWindow win = avg_window(g, oh, ow, count_include_pad);
        sum += grad[p * plane_out + oh * g.out_w + ow] / static_cast<T>(win.divisor);
      }
    }
    dx[e] = sum;
  }
}

}  // namespace

raw::MaxPool2dResult max_pool2d(const Tensor& x, const Pool2dGeometry& g, const Shape& out_shape) {
  const char* op = "max_pool2d (CUDA)";
  raw::MaxPool2dResult result{Tensor::empty(out_shape, x.dtype(), x.device()),
                              Tensor::empty(out_shape, DType::i64, x.device())};
  const std::int64_t total = result.values.numel();
  if (total == 0) return result;
  const DeviceGuard guard(x.device().index, op);
  visit_floating(x.dtype(), op, [&]<typename T>(T) {
    max_pool_kernel<T><<<grid_for(total), kThreads, 0, stream()>>>(in_ptr<T>(x), g, total, out_ptr<T>(result.values),
                                                                   out_ptr<std::int64_t>(result.indices));
  });
  RG_CUDA_CHECK_LAUNCH(op);
  return result;
}

Tensor max_pool2d_backward(const Tensor& grad, const Tensor& indices, const Pool2dGeometry& g,
                           const Shape& input_shape) {
  const char* op = "max_pool2d_backward (CUDA)";
  Tensor dx = Tensor::empty(input_shape, grad.dtype(), grad.device());
  const std::int64_t total = dx.numel();
  if (total == 0) return dx;
  const DeviceGuard guard(grad.device().index, op);
  visit_floating(grad.dtype(), op, [&]<typename T>(T) {
    max_pool_backward_kernel<T><<<grid_for(total), kThreads, 0, stream()>>>(
        in_ptr<T>(grad), in_ptr<std::int64_t>(indices), g, total, out_ptr<T>(dx));
  });
  RG_CUDA_CHECK_LAUNCH(op);
  return dx;
}

Tensor avg_pool2d(const Tensor& x, const Pool2dGeometry& g, bool count_include_pad, const Shape& out_shape) {
  const char* op = "avg_pool2d (CUDA)";
  Tensor y = Tensor::empty(out_shape, x.dtype(), x.device());
  const std::int64_t total = y.numel();
  if (total == 0) return y;
  const DeviceGuard guard(x.device().index, op);
  visit_floating(x.dtype(), op, [&]<typename T>(T) {
    avg_pool_kernel<T>
        <<<grid_for(total), kThreads, 0, stream()>>>(in_ptr<T>(x), g, count_include_pad, total, out_ptr<T>(y));
  });
  RG_CUDA_CHECK_LAUNCH(op);
  return y;
}

Tensor avg_pool2d_backward(const Tensor& grad, const Pool2dGeometry& g, bool count_include_pad,
                           const Shape& input_shape) {
  const char* op = "avg_pool2d_backward (CUDA)";
  Tensor dx = Tensor::empty(input_shape, grad.dtype(), grad.device());
  const std::int64_t total = dx.numel();
  if (total == 0) return dx;
  const DeviceGuard guard(grad.device().index, op);
  visit_floating(grad.dtype(), op, [&]<typename T>(T) {
    avg_pool_backward_kernel<T>
        <<<grid_for(total), kThreads, 0, stream()>>>(in_ptr<T>(grad), g, count_include_pad, total, out_ptr<T>(dx));
  });
  RG_CUDA_CHECK_LAUNCH(op);
  return dx;
}

}  // namespace recgrad::cuda
