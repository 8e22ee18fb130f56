#include "core/ops/gru_cell.h"

#include <algorithm>
#include <string_view>
#include <type_traits>

#include "core/cpu/gru_cell.h"
#include "core/cuda/gru_cell.h"
#include "core/ops/copy.h"

namespace recgrad::raw {

namespace {

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
  if (h.is_cuda()) return cuda::gru_cell_forward(gi, gh, bias_hh, h, mask, h_next, gates);
  cpu::gru_cell_forward(gi, gh, bias_hh, h, mask, h_next, gates);
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
  if (h.is_cuda()) return cuda::gru_cell_backward(grad_h_next, grad_extra, gates, h, mask, grad_gi, grad_gh, grad_h);
  cpu::gru_cell_backward(grad_h_next, grad_extra, gates, h, mask, grad_gi, grad_gh, grad_h);
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
