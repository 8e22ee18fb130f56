// Differentiable losses.
//   cross_entropy: loss_i = -sum_j q_ij log softmax(x_i)_j with the target
//     distribution q_i = (1 - ls) onehot(t_i) + ls / C; rows whose target is
//     ignore_index contribute 0 and are left out of the Mean denominator
//     (torch.nn.functional.cross_entropy semantics). Gradient: softmax(x_i) - q_i.
//   binary_cross_entropy_with_logits: max(x, 0) - x t + log(1 + exp(-|x|));
//     d/dx = sigmoid(x) - t, d/dt = -x.
//   mse_loss: (a - b)^2; d/da = 2 (a - b), d/db = -2 (a - b).
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace recgrad {

/// How a loss turns per-element losses into its result.
enum class Reduction { None, Mean, Sum };

struct CrossEntropyOptions {
  std::int64_t ignore_index = -100;  // rows with this target add nothing
  double label_smoothing = 0.0;      // in [0, 1]
  Reduction reduction = Reduction::Mean;
};

/// Cross-entropy of logits [N, C] (flatten [B, T, C] to [B * T, C]) against
/// class indices `targets` [N] (i64 or i32). Returns a scalar (Mean, Sum) or
/// the [N] per-row losses (None). Fused: one pass over each row forward, one
/// backward; the probabilities are never stored.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, const CrossEntropyOptions& options = {});

/// Binary cross-entropy on logits against float targets of the same shape.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets,
                                        Reduction reduction = Reduction::Mean);

/// Squared error (a - b)^2 (a and b broadcast), reduced.
Tensor mse_loss(const Tensor& a, const Tensor& b, Reduction reduction = Reduction::Mean);

}  // namespace recgrad
