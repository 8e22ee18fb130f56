// Convolution layout kernels on CUDA (see core/cuda/conv.h).
//
// One thread per output element in a grid-stride loop. The gather that replaces the CPU's scatter
// (row2im) visits its contributions in increasing output position, which is the order in which the CPU
// kernel adds them, so both devices round alike.
#include <cmath>

#include "core/cuda/conv.h"
#include "core/cuda/kernel_utils.cuh"
#include "core/cuda/runtime_check.h"

namespace recgrad::cuda {
namespace {

using raw::Conv2dGeometry;

template <typename T>
__global__ void im2row_kernel(const T* __restrict__ x, Conv2dGeometry g, std::int64_t b0, std::int64_t total,
                              T* __restrict__ cols) {
  const std::int64_t taps = g.kernel_h * g.kernel_w, patch = g.in_channels * taps, positions = g.out_h * g.out_w;
  for (std::int64_t e = grid_first(); e < total; e += grid_step()) {
    const std::int64_t r = e / patch, k = e % patch;
    const std::int64_t c = k / taps, i = (k % taps) / g.kernel_w, j = k % g.kernel_w;
    const std::int64_t b = b0 + r / positions, pos = r % positions;
    const std::int64_t ih = (pos / g.out_w) * g.stride_h - g.pad_h + i * g.dilation_h;
    const std::int64_t iw = (pos % g.out_w) * g.stride_w - g.pad_w + j * g.dilation_w;
    const bool inside = ih >= 0 && ih < g.height && iw >= 0 && iw < g.width;
    cols[e] = inside ? x[((b * g.in_channels + c) * g.height + ih) * g.width + iw] : T(0);
  }
}

/// dx[b0 + e / (C*H*W)] element e: the sum of dcols over the (row, tap) pairs that read it, visited with
/// the kernel taps descending so the output positions ascend (the CPU's order).
template <typename T>
__global__ void row2im_kernel(const T* __restrict__ dcols, Conv2dGeometry g, std::int64_t b0, std::int64_t total,
                              T* __restrict__ dx) {
  const std::int64_t plane = g.height * g.width, sample = g.in_channels * plane;
  const std::int64_t patch = g.in_channels * g.kernel_h * g.kernel_w, positions = g.out_h * g.out_w;
  for (std::int64_t e = grid_first(); e < total; e += grid_step()) {
    const std::int64_t local = e / sample, c = (e % sample) / plane, ih = (e % plane) / g.width, iw = e % g.width;
    T sum = T(0);
    for (std::int64_t i = g.kernel_h - 1; i >= 0; --i) {
      const std::int64_t oh_scaled = ih + g.pad_h - i * g.dilation_h;
      if (oh_scaled < 0 || oh_scaled % g.stride_h != 0) continue;
      const std::int64_t oh = oh_scaled / g.stride_h;
      if (oh >= g.out_h) continue;
      for (std::int64_t j = g.kernel_w - 1; j >= 0; --j) {
        const std::int64_t ow_scaled = iw + g.pad_w - j * g.dilation_w;
        if (ow_scaled < 0 || ow_scaled % g.stride_w != 0) continue;
        const std::int64_t ow = ow_scaled / g.stride_w;
        if (ow >= g.out_w) continue;
        const std::int64_t row = local * positions + oh * g.out_w + ow;
        sum += dcols[row * patch + (c * g.kernel_h + i) * g.kernel_w + j];
      }
    }
    dx[b0 * sample + e] = sum;
  }
}

template <typename T>
__global__ void rows_to_output_kernel(const T* __restrict__ rows, const T* __restrict__ bias, std::int64_t channels,
                                      std::int64_t positions, std::int64_t b0, std::int64_t total,
                                      T* __restrict__ out) {
  for (std::int64_t e = grid_first(); e < total; e += grid_step()) {
    const std::int64_t local = e / (channels * positions), o = (e / positions) % channels, pos = e % positions;
    const T value = rows[(local * positions + pos) * channels + o];
    out[b0 * channels * positions + e] = bias != nullptr ? value + bias[o] : value;
  }
}

template <typename T>
__global__ void output_to_rows_kernel(const T* __restrict__ grad, std::int64_t channels, std::int64_t positions,
                                      std::int64_t b0, std::int64_t total, T* __restrict__ rows) {
  for (std::int64_t e = grid_first(); e < total; e += grid_step()) {
    const std::int64_t local = e / (positions * channels), pos = (e / channels) % positions, o = e % channels;
    rows[e] = grad[((b0 + local) * channels + o) * positions + pos];
  }
}

/// One block per output channel o: db[o] = sum over (b, pos) of grad[b, o, pos], in double.
template <typename T>
__global__ void bias_grad_kernel(const T* __restrict__ grad, std::int64_t batch, std::int64_t channels,
                                 std::int64_t positions, T* __restrict__ db) {
  __shared__ double scratch[kWarpSize];
  const std::int64_t o = blockIdx.x, count = batch * positions;
  double total = 0.0;
  for (std::int64_t idx = threadIdx.x; idx < count; idx += blockDim.x) {
    const std::int64_t b = idx / positions, pos = idx % positions;
    total += static_cast<double>(grad[(b * channels + o) * positions + pos]);
  }
  total = block_sum(total, scratch);
  if (threadIdx.x == 0) db[o] = static_cast<T>(total);
}

}  // namespace

void im2row(const Tensor& x, const Conv2dGeometry& g, std::int64_t b0, std::int64_t nb, const Tensor& cols) {
  const char* op = "conv2d (CUDA im2row)";
  const std::int64_t total = nb * g.out_h * g.out_w * g.patch_size();
  if (total == 0) return;
  const DeviceGuard guard(x.device().index, op);
  visit_floating(x.dtype(), op, [&]<typename T>(T) {
    im2row_kernel<T><<<grid_for(total), kThreads, 0, stream()>>>(in_ptr<T>(x), g, b0, total, out_ptr<T>(cols));
  });
  RG_CUDA_CHECK_LAUNCH(op);
}

void row2im(const Tensor& dcols, const Conv2dGeometry& g, std::int64_t b0, std::int64_t nb, const Tensor& dx) {
  const char* op = "conv2d_backward (CUDA row2im)";
  const std::int64_t total = nb * g.in_channels * g.height * g.width;
  if (total == 0) return;
  const DeviceGuard guard(dx.device().index, op);
  visit_floating(dx.dtype(), op, [&]<typename T>(T) {
    row2im_kernel<T><<<grid_for(total), kThreads, 0, stream()>>>(in_ptr<T>(dcols), g, b0, total, out_ptr<T>(dx));
  });
  RG_CUDA_CHECK_LAUNCH(op);
}

void rows_to_output(const Tensor& rows, const Tensor& bias, const Conv2dGeometry& g, std::int64_t b0, std::int64_t nb,
                    const Tensor& out) {
  const char* op = "conv2d (CUDA rows_to_output)";
  const std::int64_t total = nb * g.out_channels * g.positions();
  if (total == 0) return;
  const DeviceGuard guard(out.device().index, op);
  visit_floating(out.dtype(), op, [&]<typename T>(T) {
    rows_to_output_kernel<T><<<grid_for(total), kThreads, 0, stream()>>>(
        in_ptr<T>(rows), pointer_or_null<T>(bias), g.out_channels, g.positions(), b0, total, out_ptr<T>(out));
  });
  RG_CUDA_CHECK_LAUNCH(op);
}

void output_to_rows(const Tensor& grad, const Conv2dGeometry& g, std::int64_t b0, std::int64_t nb, const Tensor& rows) {
  const char* op = "conv2d_backward (CUDA output_to_rows)";
  const std::int64_t total = nb * g.out_channels * g.positions();
  if (total == 0) return;
  const DeviceGuard guard(grad.device().index, op);
  visit_floating(grad.dtype(), op, [&]<typename T>(T) {
    output_to_rows_kernel<T><<<grid_for(total), kThreads, 0, stream()>>>(in_ptr<T>(grad), g.out_channels, g.positions(),
                                                                         b0, total, out_ptr<T>(rows));
  });
  RG_CUDA_CHECK_LAUNCH(op);
}

Tensor conv_bias_grad(const Tensor& grad, const Conv2dGeometry& g) {
  const char* op = "conv2d_backward (CUDA bias gradient)";
  Tensor db = Tensor::empty({g.out_channels}, grad.dtype(), grad.device());
  if (g.out_channels == 0) return db;
  const DeviceGuard guard(grad.device().index, op);
  visit_floating(grad.dtype(), op, [&]<typename T>(T) {
    bias_grad_kernel<T><<<static_cast<unsigned>(g.out_channels), kThreads, 0, stream()>>>(
        in_ptr<T>(grad), g.batch, g.out_channels, g.positions(), out_ptr<T>(db));
  });
  RG_CUDA_CHECK_LAUNCH(op);
  return db;
}

}  // namespace recgrad::cuda
