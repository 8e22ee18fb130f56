#include "core/cpu/gru_cell.h"

#include <type_traits>

#include "core/cpu/parallel.h"
#include "core/cpu/vec_math.h"

namespace recgrad::cpu {
namespace {

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

void gru_cell_forward(const Tensor& gi, const Tensor& gh, const Tensor& bias_hh, const Tensor& h, const Tensor& mask,
                      const Tensor& h_next, const Tensor& gates) {
  visit_floating(h.dtype(), "gru_cell",
                 [&]<typename T>(T) { forward_cpu<T>(gi, gh, bias_hh, h, mask, h_next, gates); });
}

void gru_cell_backward(const Tensor& grad_h_next, const Tensor& grad_extra, const Tensor& gates, const Tensor& h,
                       const Tensor& mask, const Tensor& grad_gi, const Tensor& grad_gh, const Tensor& grad_h) {
  visit_floating(h.dtype(), "gru_cell_backward", [&]<typename T>(T) {
    backward_cpu<T>(grad_h_next, grad_extra, gates, h, mask, grad_gi, grad_gh, grad_h);
  });
}

}  // namespace recgrad::cpu
