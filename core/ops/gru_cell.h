// The fused GRU cell without autograd: one time step of torch.nn.GRU for a batch, given the two
// input projections of the step (gate order r, z, n, as in PyTorch):
//   gi = x W_ih^T + b_ih   [B, 3H]        gh = h W_hh^T + b_hh   [B, 3H]
//   r = sigmoid(gi_r + gh_r)   z = sigmoid(gi_z + gh_z)   n = tanh(gi_n + r * gh_n)
//   h' = (1 - z) * n + z * h            (rows whose mask is false keep h' = h)
// The forward saves gates = [r, z, n, gh_n] ([B, 4H]) so that the backward is one pass:
//   dn = g (1 - z)   dz = g (h - n)   dh = g z
//   dn_pre = dn (1 - n^2)   dz_pre = dz z (1 - z)   dr_pre = dn_pre gh_n r (1 - r)
//   dgi = [dr_pre, dz_pre, dn_pre]   dgh = [dr_pre, dz_pre, dn_pre r]
// and for a masked row dh = g, dgi = dgh = 0. The GEMMs around the cell (and their gradients) belong
// to the caller; the cell does only the elementwise part, for every row at once (CPU: a parallel loop
// over rows; CUDA: core/cuda/gru_cell.h, one kernel each way).
//
// Matrices are 2-D views with unit column stride and any row stride (so a step of a [B, T, 3H] tensor
// can be passed without a copy); the mask is a 1-D b8 view [B] (any stride) or undefined (all valid).
#pragma once

#include "core/tensor.h"

namespace recgrad::raw {

/// The new state and the saved gates of one step.
struct GruCellForward {
  Tensor h_next;  // [B, H]
  Tensor gates;   // [B, 4H]: r, z, n, gh_n
};

/// Gradients of one step with respect to its three inputs.
struct GruCellGrads {
  Tensor gi;  // [B, 3H]
  Tensor gh;  // [B, 3H]
  Tensor h;   // [B, H]
};

/// One GRU step (see above) into new tensors; gi, gh [B, 3H], h [B, H], mask [B] b8 or undefined.
GruCellForward gru_cell_forward(const Tensor& gi, const Tensor& gh, const Tensor& h, const Tensor& mask);

/// The same step written into caller-owned views h_next [B, H] and gates [B, 4H] (unit column stride).
/// gates may be undefined (nothing saved: inference). With bias_hh (a dense [3H]) defined, gh is taken
/// to be h W_hh^T alone and the cell adds the bias itself (the saved gh_n includes it), which spares a
/// recurrence a copy of the bias before each step's GEMM.
void gru_cell_forward_into(const Tensor& gi, const Tensor& gh, const Tensor& h, const Tensor& mask,
                           const Tensor& h_next, const Tensor& gates, const Tensor& bias_hh = Tensor());

/// The backward of one step for the output gradient grad_h_next [B, H] (see above), into new tensors.
GruCellGrads gru_cell_backward(const Tensor& grad_h_next, const Tensor& gates, const Tensor& h, const Tensor& mask);

/// The backward written into caller-owned views grad_gi, grad_gh [B, 3H] and grad_h [B, H]. The
/// gradient of h' is grad_h_next + grad_extra (grad_extra [B, H] may be undefined): a recurrence
/// passes the carried state gradient and the gradient of the step's output without adding them first.
void gru_cell_backward_into(const Tensor& grad_h_next, const Tensor& grad_extra, const Tensor& gates, const Tensor& h,
                            const Tensor& mask, const Tensor& grad_gi, const Tensor& grad_gh, const Tensor& grad_h);

}  // namespace recgrad::raw
