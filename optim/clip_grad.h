// Gradient clipping by the global norm, as torch.nn.utils.clip_grad_norm_.
#pragma once

#include <limits>
#include <vector>

#include "core/tensor.h"

namespace recgrad {

/// Rescales the gradients of `params` in place so that their joint norm is at
/// most `max_norm`, and returns the joint norm before clipping:
///   total = ( sum over params of ||grad||_p^p )^(1/p)   (max |grad| for p = inf)
///   clip_coef = max_norm / (total + 1e-6);  every grad *= clip_coef  when clip_coef < 1
/// Parameters without a gradient are ignored (0 when none has one). Throws for
/// norm_type <= 0, a negative or NaN max_norm, and, when `error_if_nonfinite`,
/// for a NaN or infinite total norm.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);

/// The joint p-norm of the gradients of `params`, as clip_grad_norm_ computes it,
/// without changing them.
double grad_norm(const std::vector<Tensor>& params, double norm_type = 2.0);

}  // namespace recgrad
