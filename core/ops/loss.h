// Loss kernels without autograd: the fused cross-entropy over large
// vocabularies (forward per-row logsumexp in one pass over each row, backward
// softmax - target distribution without materialising probabilities in
// forward) and the numerically stable binary cross-entropy on logits.
#pragma once

#include <cstdint>

#include "core/plans/loss.h"
#include "core/tensor.h"

namespace recgrad::raw {

/// loss_i = logsumexp(x_i) - (1 - ls) x_i[t_i] - (ls / C) sum_j x_i[j] for a
/// row with target t_i, 0 when t_i == ignore_index. Throws for non-2-D logits,
/// non-index targets, a row count mismatch, ls outside [0, 1], or a target
/// outside [0, C) (naming the target and its row).
CrossEntropyRows cross_entropy_rows(const Tensor& logits, const Tensor& targets, std::int64_t ignore_index,
                                    double label_smoothing);

/// d loss / d logits[i, j] = w_i (softmax(x_i)[j] - (1 - ls) [j == t_i] - ls / C),
/// with w_i = scale * row_grad[i] (row_grad undefined means 1) and w_i = 0 for ignored rows.
Tensor cross_entropy_backward(const Tensor& logits, const Tensor& targets, const CrossEntropyRows& rows,
                              const Tensor& row_grad, double scale, std::int64_t ignore_index, double label_smoothing);

/// Elementwise max(x, 0) - x t + log(1 + exp(-|x|)) for logits x and targets t of one shape.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets);

/// Gradients of binary_cross_entropy_with_logits times grad * scale (grad
/// broadcasts to the logits' shape): d/dx = sigmoid(x) - t, d/dt = -x.
/// `want_targets` false leaves the target gradient undefined.
BinaryCrossEntropyGrads binary_cross_entropy_with_logits_backward(const Tensor& logits, const Tensor& targets,
                                                                  const Tensor& grad, double scale, bool want_targets);

}  // namespace recgrad::raw
