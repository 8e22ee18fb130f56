// The loss kernels (core/ops/loss.h) on the CPU: cross-entropy rows in one blocked pass each (online max,
// sums in double), its backward, and binary cross-entropy on logits. The raw ops check the arguments and
// make the logits dense; the CPU validates the targets here, core/cuda/loss.cu in its kernel.
#pragma once

#include <cstdint>

#include "core/plans/loss.h"
#include "core/tensor.h"

namespace recgrad::cpu {

/// Per row i of [N, C] logits with target t_i: row_max, row_log_sum = log sum_j exp(x_ij - row_max) and
/// loss_i = row_log_sum - (1 - ls) (x_it - row_max) - ls (mean_j x_ij - row_max), 0 where t_i == ignore_index.
/// Throws for the first row whose target is outside [0, C) (and not ignore_index). logits: dense.
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

}  // namespace recgrad::cpu
