// GRU: a multi-layer gated recurrent unit over a sequence (torch.nn.GRU), with masks for padded
// variable-length batches. Per layer k and step t (gate order r, z, n, as in PyTorch):
//   r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
//   z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
//   n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))
//   h_t = (1 - z_t) * n_t + z_t * h_{t-1}
// where x_t is the input for layer 0 and the previous layer's h_t (after dropout while training)
// above. A padded step (mask false) leaves the state unchanged and outputs zeros.
#pragma once

#include <vector>

#include "nn/module.h"

namespace recgrad::nn {

/// The four tensors of one GRU layer, in PyTorch's layout: weight_ih [3H, in], weight_hh [3H, H],
/// bias_ih and bias_hh [3H] (both undefined without bias); rows ordered r, z, n.
struct GRULayerWeights {
  Tensor weight_ih, weight_hh, bias_ih, bias_hh;
};

/// What GRU::forward returns.
struct GRUOutput {
  Tensor output;  // [B, T, H] (batch_first) or [T, B, H]: the last layer's h_t, zero at padded steps
  Tensor h_n;     // [num_layers, B, H]: each layer's state after each sequence's last valid step
};

/// GRU settings beside the sizes (PyTorch's constructor arguments and defaults).
struct GRUOptions {
  std::int64_t num_layers = 1;
  bool bias = true;
  bool batch_first = false;  // x [B, T, in] and output [B, T, H] when true; [T, B, ...] otherwise
  double dropout = 0.0;      // on the outputs of every layer but the last, while training
};

/// Which end of each row of a padded batch holds the padding.
enum class Padding { right, left };

/// The b8 [B, steps] mask of valid steps for sequence lengths [B] (i64 or i32, each in [0, steps]):
/// right padding marks steps t < length, left padding steps t >= steps - length. On lengths' device.
Tensor lengths_to_mask(const Tensor& lengths, std::int64_t steps, Padding padding = Padding::right);

/// The GRU forward as a function of its weights (what GRU::forward calls). x is [B, T, in]
/// (batch_first) or [T, B, in]; h0 [L, B, H] or undefined (zeros); mask b8 [B, T] (true = a real step)
/// or undefined. Per layer: one GEMM for the input projections of all steps (x W_ih^T + b_ih), then
/// gru_recurrence (autograd/ops/gru_cell.h): per step one GEMM and one fused cell, forward and backward.
GRUOutput gru(const Tensor& x, const Tensor& h0, const Tensor& mask, const std::vector<GRULayerWeights>& layers,
              bool batch_first, double dropout = 0.0, bool training = false);

/// Parameters per layer k, named as in PyTorch: weight_ih_l{k} [3H, in_k], weight_hh_l{k} [3H, H],
/// bias_ih_l{k} and bias_hh_l{k} [3H] (in_0 = input_size, in_k = H above), so a torch.nn.GRU
/// state_dict loads as is. All initialised U(-1/sqrt(H), 1/sqrt(H)) from the default generator, in
/// registration order (as torch's reset_parameters does).
class GRU : public Module {
 public:
  GRU(std::int64_t input_size, std::int64_t hidden_size, GRUOptions options = {});

  /// x [B, T, in] (batch_first) or [T, B, in]; h0 [num_layers, B, H] or undefined (zeros); mask b8
  /// [B, T] (true = valid step; any padding side) or undefined (all valid). In training mode dropout
  /// applies between layers. See lengths_to_mask for lengths.
  GRUOutput forward(const Tensor& x, const Tensor& h0 = Tensor(), const Tensor& mask = Tensor()) const;
  GRUOutput operator()(const Tensor& x, const Tensor& h0 = Tensor(), const Tensor& mask = Tensor()) const {
    return forward(x, h0, mask);
  }

  std::int64_t input_size;
  std::int64_t hidden_size;
  GRUOptions options;
  std::vector<GRULayerWeights> layers;  // the registered parameters, per layer
};

}  // namespace recgrad::nn
