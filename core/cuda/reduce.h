// Reductions on CUDA tensors: the kernels behind raw::sum, amax/amin, max_dim/min_dim, var, norm,
// logsumexp and their backward helpers (core/ops/reduce.h). The raw ops check their arguments and plan
// the reduction first, so errors read the same on every device; these functions only compute.
// Inputs may have any strides. Results are deterministic: every reduction combines its values in a
// fixed tree order (no atomics).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/plans/reduce.h"
#include "core/tensor.h"

namespace recgrad::cuda {

/// out[o] = sum of the elements of `input` reduced into output o (the dims plan.reduced marks);
/// f32 accumulates in f32, f64 in f64, integers in i64.
Tensor sum(const Tensor& input, const raw::ReducePlan& plan);

/// The largest (is_max) or smallest element over the reduced dims; NaN wins over any number.
Tensor extreme_over_dims(const Tensor& input, const raw::ReducePlan& plan, bool is_max, std::string_view op);

/// Largest (is_max) or smallest element along dim `dim` (normalised) and the i64 index of its first
/// occurrence; NaN wins over any number (its first occurrence is taken).
raw::ValuesIndices extreme_along_dim(const Tensor& input, int dim, bool keepdim, bool is_max, std::string_view op);

/// sum((x - mean)^2) / max(0, n - correction) over the reduced dims (two passes: the mean, then the squares).
Tensor var(const Tensor& input, const raw::ReducePlan& plan, std::int64_t correction);

/// (sum |x|^p)^(1/p) over the reduced dims; p = inf is max |x|, p = -inf min |x|, p = 0 counts non-zeros.
Tensor norm(const Tensor& input, const raw::ReducePlan& plan, double p);

/// m + log(sum(exp(x - m))) over the reduced dims, m the max (m itself when m is infinite).
Tensor logsumexp(const Tensor& input, const raw::ReducePlan& plan);

/// A zero tensor of `shape` with out[..., index[..., j, ...], ...] += src[..., j, ...] along `layout.dim`;
/// one thread per output column adds its values in order j = 0, 1, ... (deterministic, no atomics).
Tensor scatter_selected(const Tensor& src, const Tensor& index, const Shape& shape, const raw::AxisLayout& layout);

/// out = grad * [x == selected] / (number of ties over `dims`).
Tensor share_among_ties(const Tensor& x, const Tensor& selected_kept, const Tensor& grad_kept,
                        const std::vector<std::int64_t>& dims);

/// d var / dx = grad * 2 (x - mean) / max(0, n - correction).
Tensor var_backward(const Tensor& x, const Tensor& grad_kept, const std::vector<std::int64_t>& dims,
                    std::int64_t correction);

/// d ||x||_p / dx, as raw::norm_backward.
Tensor norm_backward(const Tensor& x, const Tensor& norm_kept, const Tensor& grad_kept, double p,
                     const std::vector<std::int64_t>& dims);

/// d logsumexp / dx = grad * exp(x - logsumexp).
Tensor logsumexp_backward(const Tensor& x, const Tensor& lse_kept, const Tensor& grad_kept);

}  // namespace recgrad::cuda
