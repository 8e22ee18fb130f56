// The fused GRU cell on CUDA (see core/cuda/gru_cell.h). A thread owns one (row b, unit j) and does the
// whole cell for it: it reads the three gate pre-activations of gi and gh (columns j, H + j, 2H + j of
// row b: adjacent threads read adjacent columns, so every load is coalesced) and writes h_next and the
// four saved gates (forward), or the six gate gradients and dh (backward). The formulas and their order
// of operations are those of the CPU loop in core/ops/gru_cell.cpp.
#include <cstdint>

#include "core/cuda/gru_cell.h"
#include "core/cuda/kernel_utils.cuh"
#include "core/cuda/runtime_check.h"

namespace recgrad::cuda {
namespace {

__device__ __forceinline__ float sigmoid_of(float x) { return 1.0f / (1.0f + expf(-x)); }
__device__ __forceinline__ double sigmoid_of(double x) { return 1.0 / (1.0 + exp(-x)); }
__device__ __forceinline__ float tanh_of(float x) { return tanhf(x); }
__device__ __forceinline__ double tanh_of(double x) { return tanh(x); }

/// A matrix operand: first element and row stride (column stride 1).
template <typename T>
struct Rows {
  T* data;
  std::int64_t stride;
};

template <typename T>
Rows<T> rows_of(const Tensor& t) {
  return {static_cast<T*>(t.device_pointer()), t.stride(0)};
}

/// The b8 mask [B]; null data means every row is valid.
struct MaskRows {
  const bool* data;
  std::int64_t stride;
};

MaskRows mask_of(const Tensor& mask) {
  if (!mask.defined()) return {nullptr, 0};
  return {static_cast<const bool*>(mask.device_pointer()), mask.stride(0)};
}

template <typename T>
__global__ void gru_cell_forward_kernel(Rows<const T> gi, Rows<const T> gh, const T* __restrict__ bias, Rows<const T> h,
                                        MaskRows mask, Rows<T> h_next, Rows<T> gates, std::int64_t batch,
                                        std::int64_t hidden) {
  const std::int64_t total = batch * hidden;
  for (std::int64_t i = grid_first(); i < total; i += grid_step()) {
    const std::int64_t b = i / hidden, j = i % hidden;
    const T* gir = gi.data + b * gi.stride;
    const T* ghr = gh.data + b * gh.stride;
    const T h_prev = h.data[b * h.stride + j];
    T gh_r = ghr[j], gh_z = ghr[hidden + j], hn = ghr[2 * hidden + j];
    if (bias != nullptr) {
      gh_r += bias[j];
      gh_z += bias[hidden + j];
      hn += bias[2 * hidden + j];
    }
    const T r = sigmoid_of(gir[j] + gh_r);
    const T z = sigmoid_of(gir[hidden + j] + gh_z);
    const T n = tanh_of(gir[2 * hidden + j] + r * hn);
    if (gates.data != nullptr) {
      T* saved = gates.data + b * gates.stride;
      saved[j] = r;
      saved[hidden + j] = z;
      saved[2 * hidden + j] = n;
      saved[3 * hidden + j] = hn;
    }
    const bool valid = mask.data == nullptr || mask.data[b * mask.stride];
    h_next.data[b * h_next.stride + j] = valid ? n + z * (h_prev - n) : h_prev;
  }
}

template <typename T>
__global__ void gru_cell_backward_kernel(Rows<const T> grad, Rows<const T> extra, Rows<const T> gates, Rows<const T> h,
                                         MaskRows mask, Rows<T> dgi, Rows<T> dgh, Rows<T> dh, std::int64_t batch,
                                         std::int64_t hidden) {
  const std::int64_t total = batch * hidden;
  for (std::int64_t i = grid_first(); i < total; i += grid_step()) {
    const std::int64_t b = i / hidden, j = i % hidden;
    T g = grad.data[b * grad.stride + j];
    if (extra.data != nullptr) g += extra.data[b * extra.stride + j];
    T* dgi_row = dgi.data + b * dgi.stride;
    T* dgh_row = dgh.data + b * dgh.stride;
    const bool valid = mask.data == nullptr || mask.data[b * mask.stride];
    if (!valid) {  // the step did not happen: the gradient passes to h unchanged
      dgi_row[j] = dgi_row[hidden + j] = dgi_row[2 * hidden + j] = T(0);
      dgh_row[j] = dgh_row[hidden + j] = dgh_row[2 * hidden + j] = T(0);
      dh.data[b * dh.stride + j] = g;
      continue;
    }
    const T* saved = gates.data + b * gates.stride;
    const T r = saved[j], z = saved[hidden + j], n = saved[2 * hidden + j], hn = saved[3 * hidden + j];
    const T h_prev = h.data[b * h.stride + j];
    const T dn_pre = g * (T(1) - z) * (T(1) - n * n);
    const T dz_pre = g * (h_prev - n) * z * (T(1) - z);
    const T dr_pre = dn_pre * hn * r * (T(1) - r);
    dgi_row[j] = dr_pre;
    dgi_row[hidden + j] = dz_pre;
    dgi_row[2 * hidden + j] = dn_pre;
    dgh_row[j] = dr_pre;
    dgh_row[hidden + j] = dz_pre;
    dgh_row[2 * hidden + j] = dn_pre * r;
    dh.data[b * dh.stride + j] = g * z;
  }
}

}  // namespace

void gru_cell_forward(const Tensor& gi, const Tensor& gh, const Tensor& bias_hh, const Tensor& h, const Tensor& mask,
                      const Tensor& h_next, const Tensor& gates) {
  const std::int64_t batch = h.size(0), hidden = h.size(1);
  if (batch * hidden == 0) return;
  const DeviceGuard guard(h.device().index, "gru_cell");
  const unsigned blocks = grid_for(batch * hidden);
  visit_floating(h.dtype(), "gru_cell", [&]<typename T>(T) {
    const T* bias = bias_hh.defined() ? static_cast<const T*>(bias_hh.device_pointer()) : nullptr;
    const Rows<T> saved = gates.defined() ? rows_of<T>(gates) : Rows<T>{nullptr, 0};
    gru_cell_forward_kernel<T><<<blocks, kThreads, 0, stream()>>>(rows_of<const T>(gi), rows_of<const T>(gh), bias,
                                                                  rows_of<const T>(h), mask_of(mask),
                                                                  rows_of<T>(h_next), saved, batch, hidden);
    RG_CUDA_CHECK_LAUNCH("gru_cell (CUDA kernel launch)");
  });
}

void gru_cell_backward(const Tensor& grad_h_next, const Tensor& grad_extra, const Tensor& gates, const Tensor& h,
                       const Tensor& mask, const Tensor& grad_gi, const Tensor& grad_gh, const Tensor& grad_h) {
  const std::int64_t batch = h.size(0), hidden = h.size(1);
  if (batch * hidden == 0) return;
  const DeviceGuard guard(h.device().index, "gru_cell_backward");
  const unsigned blocks = grid_for(batch * hidden);
  visit_floating(h.dtype(), "gru_cell_backward", [&]<typename T>(T) {
    const Rows<const T> extra = grad_extra.defined() ? rows_of<const T>(grad_extra) : Rows<const T>{nullptr, 0};
    gru_cell_backward_kernel<T><<<blocks, kThreads, 0, stream()>>>(
        rows_of<const T>(grad_h_next), extra, rows_of<const T>(gates), rows_of<const T>(h), mask_of(mask),
        rows_of<T>(grad_gi), rows_of<T>(grad_gh), rows_of<T>(grad_h), batch, hidden);
    RG_CUDA_CHECK_LAUNCH("gru_cell_backward (CUDA kernel launch)");
  });
}

}  // namespace recgrad::cuda
