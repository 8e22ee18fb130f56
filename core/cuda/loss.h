// The loss kernels of core/ops/loss.h on a CUDA device: the fused cross-entropy
// (one block per row, the probabilities never stored) and the elementwise
// binary cross-entropy on logits. The raw ops check their arguments and then
// call these for CUDA tensors, so both devices report the same errors.
#pragma once

#include <cstdint>

#include "core/plans/loss.h"
#include "core/tensor.h"

namespace recgrad::cuda {

/// Per row i of [N, C] logits with target t_i: row_max, row_log_sum = log sum_j exp(x_ij - row_max) and
/// loss_i = row_log_sum - (1 - ls) (x_it - row_max) - ls (mean_j x_ij - row_max), 0 where t_i == ignore_index.
/// Reads the targets' check (range, count of counted rows) back once per call and throws for the first row
/// whose target is outside [0, C), with the CPU's message.
raw::CrossEntropyRows cross_entropy_rows(const Tensor& logits, const Tensor& targets, std::int64_t ignore_index,
                                         double label_smoothing);

/// dlogits[i, j] = w_i (exp(x_ij - row_max_i - row_log_sum_i) - ls / C - (1 - ls) [j == t_i]),
/// w_i = scale * row_grad[i] (1 when row_grad is undefined), 0 on ignored rows.
Tensor cross_entropy_backward(const Tensor& logits, const Tensor& targets, const raw::CrossEntropyRows& rows,
                              const Tensor& row_grad, double scale, std::int64_t ignore_index, double label_smoothing);

/// loss = max(x, 0) - x t + log(1 + exp(-|x|)) elementwise; logits and targets of one shape, any strides.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets);

/// dx = (sigmoid(x) - t) g scale and, when want_targets, dt = -x g scale; `grad` already has the logits'
/// shape (an expanded view is fine).
raw::BinaryCrossEntropyGrads binary_cross_entropy_with_logits_backward(const Tensor& logits, const Tensor& targets,
                                                                       const Tensor& grad, double scale,
                                                                       bool want_targets);

}  // namespace recgrad::cuda
