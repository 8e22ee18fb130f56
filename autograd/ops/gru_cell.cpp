#include "autograd/ops/gru_cell.h"

#include <utility>

#include "autograd/function.h"
#include "core/ops/copy.h"
#include "core/ops/gru_cell.h"
#include "core/ops/matmul.h"
#include "core/ops/reduce.h"
#include "core/ops/view.h"

namespace recgrad {

Tensor gru_cell(const Tensor& gi, const Tensor& gh, const Tensor& h, const Tensor& mask) {
  raw::GruCellForward forward = raw::gru_cell_forward(gi, gh, h, mask);
  return record("gru_cell", std::move(forward.h_next), {gi, gh, h},
                [gates = SavedTensor(forward.gates), h_saved = SavedTensor(h), mask](const Tensor& g) {
                  raw::GruCellGrads grads =
                      raw::gru_cell_backward(g, gates.unpack("gru_cell"), h_saved.unpack("gru_cell"), mask);
                  return std::vector<Tensor>{grads.gi, grads.gh, grads.h};
                });
}

namespace {

// Checks the operands of gru_recurrence (the per-step checks of the cell run again inside each step).
void check_recurrence(const Tensor& gi, const Tensor& h0, const Tensor& weight_hh, const Tensor& bias_hh,
                      const Tensor& mask) {
  RG_CHECK(gi.defined() && weight_hh.defined(), "gru_recurrence: gi and weight_hh must be defined");
  RG_CHECK(weight_hh.dim() == 2 && weight_hh.size(0) == 3 * weight_hh.size(1) && weight_hh.size(1) > 0,
           "gru_recurrence: weight_hh must be [3H, H], got ", weight_hh.shape());
  const std::int64_t hidden = weight_hh.size(1);
  RG_CHECK(gi.dim() == 3 && gi.size(2) == 3 * hidden, "gru_recurrence: gi must be [T, B, 3H] = [T, B, ", 3 * hidden,
           "] for weight_hh ", weight_hh.shape(), ", got ", gi.shape());
  RG_CHECK(gi.size(0) > 0, "gru_recurrence: the sequence is empty (gi ", gi.shape(), ")");
  const std::int64_t batch = gi.size(1);
  RG_CHECK(gi.dtype() == weight_hh.dtype() && gi.device() == weight_hh.device(), "gru_recurrence: gi is ", gi.dtype(),
           " on ", gi.device(), " but weight_hh is ", weight_hh.dtype(), " on ", weight_hh.device());
  if (h0.defined()) {
    RG_CHECK(h0.shape() == Shape({batch, hidden}), "gru_recurrence: h0 must be [B, H] = [", batch, ", ", hidden,
             "], got ", h0.shape());
    RG_CHECK(h0.dtype() == gi.dtype() && h0.device() == gi.device(), "gru_recurrence: h0 is ", h0.dtype(), " on ",
             h0.device(), " but gi is ", gi.dtype(), " on ", gi.device());
  }
  if (bias_hh.defined()) {
    RG_CHECK(bias_hh.shape() == Shape({3 * hidden}), "gru_recurrence: bias_hh must be [3H] = [", 3 * hidden, "], got ",
             bias_hh.shape());
    RG_CHECK(bias_hh.dtype() == gi.dtype() && bias_hh.device() == gi.device(), "gru_recurrence: bias_hh is ",
             bias_hh.dtype(), " on ", bias_hh.device(), " but gi is ", gi.dtype(), " on ", gi.device());
  }
  if (mask.defined()) {
    RG_CHECK(mask.dtype() == DType::b8 && mask.shape() == Shape({gi.size(0), batch}),
             "gru_recurrence: mask must be b8 [T, B] = [", gi.size(0), ", ", batch, "], got ", mask.dtype(), " ",
             mask.shape());
    RG_CHECK(mask.device() == gi.device(), "gru_recurrence: mask is on ", mask.device(), " but gi is on ", gi.device());
  }
}

// A dense [T, B, W] tensor whose memory order is batch-first when `batch_major` (a [B, T, W] buffer
// seen through a transposed view): the gradient of a gi that was such a view then reaches the input
// projection's backward as a dense batch-first tensor.
Tensor empty_steps(std::int64_t steps, std::int64_t batch, std::int64_t width, bool batch_major, DType dtype,
                   Device device) {
  if (batch_major) return raw::transpose(Tensor::empty({batch, steps, width}, dtype, device), 0, 1);
  return Tensor::empty({steps, batch, width}, dtype, device);
}

// What the backward of gru_recurrence keeps.
struct SavedRecurrence {
  SavedTensor states;  // [T + 1, B, H]: h0 then every step's state
  SavedTensor gates;   // [T, B, 4H]: r, z, n, gh_n of every step
  SavedTensor weight_hh;
  Tensor mask;          // b8 [T, B] or undefined (not differentiable)
  bool gi_batch_major;  // gi was a transposed view of a batch-first tensor
  bool need_gi, need_h0, need_weight, need_bias;
};

// Runs the steps in reverse: per step one fused cell backward (dgi_t, dgh_t and dh z) and one GEMM adding
// dgh_t W_hh to dh; then the weight gradients over all steps at once.
std::vector<Tensor> gru_recurrence_backward(const SavedRecurrence& saved, const Tensor& grad_in) {
  const Tensor states = saved.states.unpack("gru_recurrence");
  const Tensor gates = saved.gates.unpack("gru_recurrence");
  const Tensor weight_hh = saved.weight_hh.unpack("gru_recurrence");
  const Tensor grad = grad_in.stride(2) == 1 ? grad_in : raw::contiguous(grad_in);
  const std::int64_t steps = gates.size(0), batch = gates.size(1), hidden = weight_hh.size(1);
  const DType dtype = states.dtype();
  const Device device = states.device();

  const Tensor grad_gi = empty_steps(steps, batch, 3 * hidden, saved.gi_batch_major, dtype, device);
  const Tensor grad_gh = Tensor::empty({steps, batch, 3 * hidden}, dtype, device);
  // dh ping-pongs between two buffers: step t reads the carry of step t + 1 and writes its own.
  Tensor carry = Tensor::empty({batch, hidden}, dtype, device);
  Tensor next = Tensor::empty({batch, hidden}, dtype, device);
  for (std::int64_t t = steps - 1; t >= 0; --t) {
    const Tensor grad_gh_t = raw::select(grad_gh, 0, t);
    raw::gru_cell_backward_into(
        raw::select(grad, 0, t), t == steps - 1 ? Tensor() : carry, raw::select(gates, 0, t), raw::select(states, 0, t),
        saved.mask.defined() ? raw::select(saved.mask, 0, t) : Tensor(), raw::select(grad_gi, 0, t), grad_gh_t, next);
    if (t > 0 || saved.need_h0) raw::gemm_into(next, grad_gh_t, weight_hh, 1.0, 1.0);  // dh += dgh_t W_hh
    std::swap(carry, next);
  }
  std::vector<Tensor> grads(4);
  if (saved.need_gi) grads[0] = grad_gi;
  if (saved.need_h0) grads[1] = carry;
  const Tensor grad_gh_rows = raw::view(grad_gh, {steps * batch, 3 * hidden});
  if (saved.need_weight) {  // dW_hh = sum_t dgh_t^T h_{t-1}: one GEMM over the T * B rows
    grads[2] = Tensor::empty({3 * hidden, hidden}, dtype, device);
    const Tensor previous = raw::view(raw::narrow(states, 0, 0, steps), {steps * batch, hidden});
    raw::gemm_into(grads[2], raw::transpose(grad_gh_rows, 0, 1), previous);
  }
  if (saved.need_bias) grads[3] = raw::sum(grad_gh_rows, {0});
  return grads;
}

}  // namespace

Tensor gru_recurrence(const Tensor& gi_in, const Tensor& h0, const Tensor& weight_hh, const Tensor& bias_hh,
                      const Tensor& mask) {
  check_recurrence(gi_in, h0, weight_hh, bias_hh, mask);
  const Tensor gi = gi_in.stride(2) == 1 ? gi_in : raw::contiguous(gi_in);
  const std::int64_t steps = gi.size(0), batch = gi.size(1), hidden = weight_hh.size(1);
  const DType dtype = gi.dtype();
  const Device device = gi.device();

  const bool needs_grad = any_requires_grad({gi_in, h0, weight_hh, bias_hh});
  Tensor states = Tensor::empty({steps + 1, batch, hidden}, dtype, device);
  // Without a graph nothing is saved for backward (inference).
  Tensor gates = needs_grad ? Tensor::empty({steps, batch, 4 * hidden}, dtype, device) : Tensor();
  Tensor gh = Tensor::empty({batch, 3 * hidden}, dtype, device);
  if (h0.defined()) {
    raw::copy_(raw::select(states, 0, 0), h0);
  } else {
    raw::fill_(raw::select(states, 0, 0), 0.0);
  }
  const Tensor weight_t = raw::transpose(weight_hh, 0, 1);  // [H, 3H], read by BLAS as a transposed operand
  const Tensor bias = bias_hh.defined() ? raw::contiguous(bias_hh) : Tensor();
  for (std::int64_t t = 0; t < steps; ++t) {
    const Tensor h_prev = raw::select(states, 0, t);
    raw::gemm_into(gh, h_prev, weight_t);  // h W_hh^T; the cell adds b_hh
    raw::gru_cell_forward_into(raw::select(gi, 0, t), gh, h_prev, mask.defined() ? raw::select(mask, 0, t) : Tensor(),
                               raw::select(states, 0, t + 1), needs_grad ? raw::select(gates, 0, t) : Tensor(), bias);
  }
  Tensor output = raw::narrow(states, 0, 1, steps);
  if (!needs_grad) return output;

  SavedRecurrence saved{SavedTensor(states),
                        SavedTensor(gates),
                        SavedTensor(weight_hh),
                        mask,
                        gi.stride(1) > gi.stride(0),
                        gi_in.requires_grad(),
                        h0.defined() && h0.requires_grad(),
                        weight_hh.requires_grad(),
                        bias_hh.defined() && bias_hh.requires_grad()};
  return record("gru_recurrence", std::move(output), {gi_in, h0, weight_hh, bias_hh},
                [saved = std::move(saved)](const Tensor& grad) { return gru_recurrence_backward(saved, grad); });
}

}  // namespace recgrad
