// The fused GRU cell (core/ops/gru_cell.h) on the CPU: one pass over each row for the forward of a step and
// one for its backward, rows in parallel. The raw ops check the arguments (2-D operands with unit column
// stride, one dtype and device) first; core/cuda/gru_cell.cu is the same loop on a GPU.
#pragma once

#include "core/tensor.h"

namespace recgrad::cpu {

/// With gh' = gh + bias_hh (gh alone when bias_hh is undefined): r = sigmoid(gi_r + gh'_r),
/// z = sigmoid(gi_z + gh'_z), n = tanh(gi_n + r gh'_n), h_next = n + z (h - n) (h_next = h on rows whose
/// mask is false); gates = [r, z, n, gh'_n] unless gates is undefined. gi, gh [B, 3H], h, h_next [B, H],
/// gates [B, 4H]: unit column stride, any row stride. bias_hh: dense [3H]. mask: b8 [B] (any stride).
void gru_cell_forward(const Tensor& gi, const Tensor& gh, const Tensor& bias_hh, const Tensor& h, const Tensor& mask,
                      const Tensor& h_next, const Tensor& gates);

/// With g = grad_h_next (+ grad_extra when defined): dn_pre = g (1 - z)(1 - n^2),
/// dz_pre = g (h - n) z (1 - z), dr_pre = dn_pre gh_n r (1 - r); grad_gi = [dr_pre, dz_pre, dn_pre],
/// grad_gh = [dr_pre, dz_pre, dn_pre r], grad_h = g z. A masked row gets grad_h = g and zeros elsewhere.
void gru_cell_backward(const Tensor& grad_h_next, const Tensor& grad_extra, const Tensor& gates, const Tensor& h,
                       const Tensor& mask, const Tensor& grad_gi, const Tensor& grad_gh, const Tensor& grad_h);

}  // namespace recgrad::cpu
