#include "core/ops/gru_cell.h"

#include <algorithm>
#include <string_view>
#include <type_traits>

#include "core/cpu/parallel.h"
#include "core/cpu/vec_math.h"
#include "core/ops/copy.h"

#if RECGRAD_WITH_CUDA
#include "core/cuda/gru_cell.h"
#endif

namespace recgrad::raw {

namespace {

#if RECGRAD_WITH_CUDA
constexpr bool kCudaBuilt = true;
#else
constexpr bool kCudaBuilt = false;
#endif

// A 2-D matrix operand: its first element and its row stride (the column stride is 1).
template <typename T>
struct Rows {
  T* data = nullptr;
  std::int64_t stride = 0;
  T* row(std::int64_t b) const { return data + b * stride; }
};

template <typename T>
Rows<T> rows_of(const Tensor& t) {
  return {t.data<std::remove_const_t<T>>(), t.stride(0)};
}

// The b8 mask [B] (null data when absent: every row valid).
struct MaskView {
  const bool* data = nullptr;
  std::int64_t stride = 0;
  bool valid(std::int64_t b) const { return data == nullptr || data[b * stride]; }
};

MaskView mask_of(const Tensor& mask) {
  return mask.defined() ? MaskView{mask.data<bool>(), mask.stride(0)} : MaskView{};
}

// Checks that `t` is a 2-D [rows, cols] view with unit column stride, of `dtype` on `device`.
void check_matrix(const Tensor& t, std::string_view op, std::string_view name, std::int64_t rows, std::int64_t cols,
                  DType dtype, Device device) {
  RG_CHECK(t.defined(), op, ": ", name, " is undefined");
  RG_CHECK(t.dim() == 2 && t.size(0) == rows && t.size(1) == cols, op, ": ", name, " has shape ", t.shape(),
           ", expected [", rows, ", ", cols, "]");
  RG_CHECK(t.dtype() == dtype, op, ": ", name, " is ", t.dtype(), " but the cell computes in ", dtype);
  RG_CHECK(t.device() == device, op, ": ", name, " is on ", t.device(), " but the cell runs on ", device);
  RG_CHECK(t.stride(1) == 1 || cols <= 1, op, ": ", name, " ", t.shape(), " with strides ", t.strides(),
           " needs unit column stride");
}

void check_mask(const Tensor& mask, std::string_view op, std::int64_t batch, Device device) {
  if (!mask.defined()) return;
  RG_CHECK(mask.dim() == 1 && mask.size(0) == batch && mask.dtype() == DType::b8, op, ": mask must be b8 [", batch,
           "], got ", mask.dtype(), " ", mask.shape());
  RG_CHECK(mask.device() == device, op, ": mask is on ", mask.device(), " but the cell runs on ", device);
}

// Validates gi, gh [B, 3H] and h [B, H] (and the mask); returns H.
std::int64_t check_step_inputs(const Tensor& gi, const Tensor& gh, const Tensor& h, const Tensor& mask,
                               std::string_view op) {
  RG_CHECK(gi.defined() && gh.defined() && h.defined(), op, ": gi, gh and h must be defined");
  RG_CHECK(gi.dim() == 2 && h.dim() == 2 && gi.size(1) == 3 * h.size(1) && gi.size(0) == h.size(0), op,
           ": expected gi [B, 3H] and h [B, H], got gi ", gi.shape(), " and h ", h.shape());
  RG_CHECK(is_floating(h.dtype()), op, ": expected a floating state (f32 or f64), got ", h.dtype(), " ", h.shape());
  RG_CHECK(h.device().is_cpu() || (kCudaBuilt && h.device().is_cuda()), op, ": device ", h.device(),
           " not supported in this build");
  const std::int64_t batch = h.size(0), hidden = h.size(1);
  check_matrix(gi, op, "gi", batch, 3 * hidden, h.dtype(), h.device());
  check_matrix(gh, op, "gh", batch, 3 * hidden, h.dtype(), h.device());
  check_matrix(h, op, "h", batch, hidden, h.dtype(), h.device());
  check_mask(mask, op, batch, h.device());
  return hidden;
}

// `t` itself when its columns are adjacent in memory, otherwise a dense copy.
Tensor unit_columns(const Tensor& t) {
  return t.defined() && t.dim() == 2 && t.stride(1) != 1 && t.size(1) > 1 ? raw::contiguous(t) : t;
}

// Rows cost about this many element operations per hidden unit (two sigmoids, a tanh, the blend).
constexpr std::int64_t kCostPerUnit = 40;

// One row of the forward (see gru_cell.h); gh + bias when kBias, gates saved when kSave. Restrict-qualified
// pointers and H by value let the loop vectorise.
template <typename T, bool kBias, bool kSave>
void forward_row(const T* __restrict gi, const T* __restrict gh, const T* __restrict bias, const T* __restrict h,
                 T* __restrict out, T* __restrict saved, std::int64_t H) {
  for (std::int64_t j = 0; j < H; ++j) {
    const T gh_r = kBias ? gh[j] + bias[j] : gh[j];
    const T gh_z = kBias ? gh[H + j] + bias[H + j] : gh[H + j];
    const T hn = kBias ? gh[2 * H + j] + bias[2 * H + j] : gh[2 * H + j];
    const T r = cpu::vmath::sigmoid(gi[j] + gh_r);
    const T z = cpu::vmath::sigmoid(gi[H + j] + gh_z);
    const T n = cpu::vmath::tanh(gi[2 * H + j] + r * hn);
    if constexpr (kSave) {
      saved[j] = r;
      saved[H + j] = z;
      saved[2 * H + j] = n;
      saved[3 * H + j] = hn;
    }
    out[j] = n + z * (h[j] - n);  // (1 - z) n + z h, in torch's order of operations
  }
}

template <typename T, bool kBias, bool kSave>
void forward_rows(Rows<const T> gi, Rows<const T> gh, const T* bias, Rows<const T> h, MaskView mask, Rows<T> h_next,
                  Rows<T> gates, std::int64_t batch, std::int64_t hidden) {
  cpu::parallel_for(batch, kCostPerUnit * hidden, [=](std::int64_t begin, std::int64_t end) {
    for (std::int64_t b = begin; b < end; ++b) {
      forward_row<T, kBias, kSave>(gi.row(b), gh.row(b), bias, h.row(b), h_next.row(b), gates.row(b), hidden);
      if (!mask.valid(b)) std::copy(h.row(b), h.row(b) + hidden, h_next.row(b));
    }
  });
}

template <typename T>
void forward_cpu(const Tensor& gi_t, const Tensor& gh_t, const Tensor& bias_t, const Tensor& h_t, const Tensor& mask_t,
                 const Tensor& h_next_t, const Tensor& gates_t) {
  const std::int64_t batch = h_t.size(0), hidden = h_t.size(1);
  const Rows<const T> gi = rows_of<const T>(gi_t), gh = rows_of<const T>(gh_t), h = rows_of<const T>(h_t);
  const Rows<T> h_next = rows_of<T>(h_next_t), gates = gates_t.defined() ? rows_of<T>(gates_t) : Rows<T>{};
  const T* bias = bias_t.defined() ? bias_t.data<T>() : nullptr;
  const MaskView mask = mask_of(mask_t);
  if (bias && gates.data) {
    forward_rows<T, true, true>(gi, gh, bias, h, mask, h_next, gates, batch, hidden);
  } else if (bias) {
    forward_rows<T, true, false>(gi, gh, bias, h, mask, h_next, gates, batch, hidden);
  } else if (gates.data) {
    forward_rows<T, false, true>(gi, gh, bias, h, mask, h_next, gates, batch, hidden);
  } else {
    forward_rows<T, false, false>(gi, gh, bias, h, mask, h_next, gates, batch, hidden);
  }
}

template <typename T, bool kExtra>
void backward_row(const T* __restrict g, const T* __restrict extra, const T* __restrict saved, const T* __restrict hr,
                  T* __restrict dgi, T* __restrict dgh, T* __restrict dh, std::int64_t H) {
  for (std::int64_t j = 0; j < H; ++j) {
    const T grad = kExtra ? g[j] + extra[j] : g[j];
    const T r = saved[j], z = saved[H + j], n = saved[2 * H + j], hn = saved[3 * H + j];
    const T dn_pre = grad * (T(1) - z) * (T(1) - n * n);
    const T dz_pre = grad * (hr[j] - n) * z * (T(1) - z);
    const T dr_pre = dn_pre * hn * r * (T(1) - r);
    dgi[j] = dr_pre;
    dgi[H + j] = dz_pre;
    dgi[2 * H + j] = dn_pre;
    dgh[j] = dr_pre;
    dgh[H + j] = dz_pre;
    dgh[2 * H + j] = dn_pre * r;
    dh[j] = grad * z;
  }
}

template <typename T>
void backward_cpu(const Tensor& grad_t, const Tensor& extra_t, const Tensor& gates_t, const Tensor& h_t,
                  const Tensor& mask_t, const Tensor& dgi_t, const Tensor& dgh_t, const Tensor& dh_t) {
  const std::int64_t batch = h_t.size(0), H = h_t.size(1);
  const Rows<const T> grad = rows_of<const T>(grad_t), gates = rows_of<const T>(gates_t), h = rows_of<const T>(h_t);
  const Rows<const T> extra = extra_t.defined() ? rows_of<const T>(extra_t) : Rows<const T>{};
  const Rows<T> dgi = rows_of<T>(dgi_t), dgh = rows_of<T>(dgh_t), dh = rows_of<T>(dh_t);
  const MaskView mask = mask_of(mask_t);
  cpu::parallel_for(batch, kCostPerUnit * H, [=](std::int64_t begin, std::int64_t end) {
    for (std::int64_t b = begin; b < end; ++b) {
      const T* g = grad.row(b);
      T* dh_row = dh.row(b);
      if (!mask.valid(b)) {  // the step did not happen: the gradient passes to h unchanged
        T* dgi_row = dgi.row(b);
        T* dgh_row = dgh.row(b);
        for (std::int64_t j = 0; j < H; ++j) dh_row[j] = extra.data ? g[j] + extra.row(b)[j] : g[j];
        for (std::int64_t j = 0; j < 3 * H; ++j) dgi_row[j] = dgh_row[j] = T(0);
        continue;
      }
      if (extra.data) {
        backward_row<T, true>(g, extra.row(b), gates.row(b), h.row(b), dgi.row(b), dgh.row(b), dh_row, H);
      } else {
        backward_row<T, false>(g, nullptr, gates.row(b), h.row(b), dgi.row(b), dgh.row(b), dh_row, H);
      }
    }
  });
}

}  // namespace

void gru_cell_forward_into(const Tensor& gi, const Tensor& gh, const Tensor& h, const Tensor& mask,
                           const Tensor& h_next, const Tensor& gates, const Tensor& bias_hh) {
  constexpr std::string_view op = "gru_cell";
  const std::int64_t hidden = check_step_inputs(gi, gh, h, mask, op);
  check_matrix(h_next, op, "h_next", h.size(0), hidden, h.dtype(), h.device());
  if (gates.defined()) check_matrix(gates, op, "gates", h.size(0), 4 * hidden, h.dtype(), h.device());
  if (bias_hh.defined()) {
    RG_CHECK(bias_hh.dim() == 1 && bias_hh.size(0) == 3 * hidden && bias_hh.is_contiguous() &&
                 bias_hh.dtype() == h.dtype() && bias_hh.device() == h.device(),
             op, ": bias_hh must be a dense ", h.dtype(), " [", 3 * hidden, "] on ", h.device(), ", got ",
             bias_hh.dtype(), " ", bias_hh.shape(), " on ", bias_hh.device());
  }
  h_next.bump_version();
  if (gates.defined()) gates.bump_version();
  if (h.numel() == 0) return;
#if RECGRAD_WITH_CUDA
  if (h.device().is_cuda()) return cuda::gru_cell_forward(gi, gh, bias_hh, h, mask, h_next, gates);
#endif
  visit_floating(h.dtype(), op, [&]<typename T>(T) { forward_cpu<T>(gi, gh, bias_hh, h, mask, h_next, gates); });
}

GruCellForward gru_cell_forward(const Tensor& gi, const Tensor& gh, const Tensor& h, const Tensor& mask) {
  const std::int64_t hidden = check_step_inputs(unit_columns(gi), unit_columns(gh), unit_columns(h), mask, "gru_cell");
  GruCellForward result{Tensor::empty({h.size(0), hidden}, h.dtype(), h.device()),
                        Tensor::empty({h.size(0), 4 * hidden}, h.dtype(), h.device())};
  gru_cell_forward_into(unit_columns(gi), unit_columns(gh), unit_columns(h), mask, result.h_next, result.gates);
  return result;
}

void gru_cell_backward_into(const Tensor& grad_h_next, const Tensor& grad_extra, const Tensor& gates, const Tensor& h,
                            const Tensor& mask, const Tensor& grad_gi, const Tensor& grad_gh, const Tensor& grad_h) {
  constexpr std::string_view op = "gru_cell_backward";
  RG_CHECK(h.defined() && h.dim() == 2, op, ": expected h [B, H], got ", h.defined() ? h.shape() : Shape{});
  RG_CHECK(is_floating(h.dtype()), op, ": expected a floating state (f32 or f64), got ", h.dtype(), " ", h.shape());
  RG_CHECK(h.device().is_cpu() || (kCudaBuilt && h.device().is_cuda()), op, ": device ", h.device(),
           " not supported in this build");
  const std::int64_t batch = h.size(0), hidden = h.size(1);
  const DType dtype = h.dtype();
  const Device device = h.device();
  check_matrix(h, op, "h", batch, hidden, dtype, device);
  check_matrix(grad_h_next, op, "grad_h_next", batch, hidden, dtype, device);
  if (grad_extra.defined()) check_matrix(grad_extra, op, "grad_extra", batch, hidden, dtype, device);
  check_matrix(gates, op, "gates", batch, 4 * hidden, dtype, device);
  check_mask(mask, op, batch, device);
  check_matrix(grad_gi, op, "grad_gi", batch, 3 * hidden, dtype, device);
  check_matrix(grad_gh, op, "grad_gh", batch, 3 * hidden, dtype, device);
  check_matrix(grad_h, op, "grad_h", batch, hidden, dtype, device);
  grad_gi.bump_version();
  grad_gh.bump_version();
  grad_h.bump_version();
  if (h.numel() == 0) return;
#if RECGRAD_WITH_CUDA
  if (device.is_cuda())
    return cuda::gru_cell_backward(grad_h_next, grad_extra, gates, h, mask, grad_gi, grad_gh, grad_h);
#endif
  visit_floating(dtype, op, [&]<typename T>(T) {
    backward_cpu<T>(grad_h_next, grad_extra, gates, h, mask, grad_gi, grad_gh, grad_h);
  });
}

GruCellGrads gru_cell_backward(const Tensor& grad_h_next, const Tensor& gates, const Tensor& h, const Tensor& mask) {
  RG_CHECK(h.defined() && h.dim() == 2, "gru_cell_backward: expected h [B, H], got ",
           h.defined() ? h.shape() : Shape{});
  const std::int64_t batch = h.size(0), hidden = h.size(1);
  GruCellGrads grads{Tensor::empty({batch, 3 * hidden}, h.dtype(), h.device()),
                     Tensor::empty({batch, 3 * hidden}, h.dtype(), h.device()),
                     Tensor::empty({batch, hidden}, h.dtype(), h.device())};
  gru_cell_backward_into(unit_columns(grad_h_next), Tensor(), unit_columns(gates), unit_columns(h), mask, grads.gi,
                         grads.gh, grads.h);
  return grads;
}

}  // namespace recgrad::raw
