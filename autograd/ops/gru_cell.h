// Differentiable GRU steps on the fused cell of core/ops/gru_cell.h (gate order r, z, n, as in PyTorch):
//   r = sigmoid(gi_r + gh_r)   z = sigmoid(gi_z + gh_z)   n = tanh(gi_n + r * gh_n)
//   h' = (1 - z) * n + z * h          (h' = h where the step is masked out)
// with gi = x W_ih^T + b_ih and gh = h W_hh^T + b_hh. The backward rebuilds the gate gradients from the
// saved r, z, n and gh_n in one pass:
//   dn_pre = g (1 - z)(1 - n^2)   dz_pre = g (h - n) z (1 - z)   dr_pre = dn_pre gh_n r (1 - r)
//   dgi = [dr_pre, dz_pre, dn_pre]   dgh = [dr_pre, dz_pre, dn_pre r]   dh = g z   (masked: dh = g)
#pragma once

#include "core/tensor.h"

namespace recgrad {

/// One step for a batch: gi, gh [B, 3H] and h [B, H] -> h' [B, H]. `mask` is a b8 [B] (true = the
/// step is real) or undefined (every row steps). Differentiable in gi, gh and h.
Tensor gru_cell(const Tensor& gi, const Tensor& gh, const Tensor& h, const Tensor& mask = Tensor());

/// A whole sequence of one GRU layer, time-major, as a single graph node:
///   h_0 = h0,  gh_t = h_{t-1} W_hh^T + b_hh,  h_t = cell(gi[t], gh_t, h_{t-1}, mask[t])
/// gi [T, B, 3H] (the input projections of every step, any strides with unit column stride; a
/// transposed view of a batch-first [B, T, 3H] is read in place), h0 [B, H] (undefined: zeros),
/// weight_hh [3H, H], bias_hh [3H] (or undefined), mask b8 [T, B] (or undefined). Returns the states
/// [T, B, H] (h_1 .. h_T). A masked step keeps the state, so states[T - 1] is each sequence's state
/// after its last valid step whatever side it is padded on.
/// Per step one GEMM and one fused cell forward; the backward runs the steps in reverse with one
/// fused cell backward and one GEMM (dh_{t-1} = dh_t z + dgh_t W_hh) each, then
/// dW_hh = sum_t dgh_t^T h_{t-1} and db_hh = sum_t dgh_t as single reductions over all steps.
/// Differentiable in gi, h0, weight_hh and bias_hh.
Tensor gru_recurrence(const Tensor& gi, const Tensor& h0, const Tensor& weight_hh, const Tensor& bias_hh = Tensor(),
                      const Tensor& mask = Tensor());

}  // namespace recgrad
