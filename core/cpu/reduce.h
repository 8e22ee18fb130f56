// The reductions (core/ops/reduce.h) on the CPU: each output reduces one row of the dense [outer, inner]
// reduction matrix the raw op prepares (or, for sum, the columns of a dense input), rows in parallel, in the
// accumulation order and precision the raw ops document; plus the elementwise pieces of their backward.
// core/cuda/reduce.cu is the same on a GPU.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/plans/reduce.h"
#include "core/tensor.h"

namespace recgrad::cpu {

/// Sums of the columns of the dense [inner, outer] matrix `input` when plan reduces a leading block of dims;
/// f32/f64 accumulate in double, integers in i64.
Tensor sum_columns(const Tensor& input, const raw::ReducePlan& plan);
/// Sums of the rows of the dense [outer, inner] reduction matrix (raw::as_reduction_rows).
Tensor sum_rows(const Tensor& rows, const raw::ReducePlan& plan);
/// Largest (is_max) or smallest element along dim `dim` (normalised) of the dense x and the i64 index of its
/// first occurrence; NaN wins over any number.
raw::ValuesIndices extreme_along_dim(const Tensor& x, int dim, bool keepdim, bool is_max, std::string_view op);

// Per row of the dense [outer, inner] reduction matrix, into plan.out_shape:
/// amax (is_max) or amin; NaN wins.
Tensor extreme_rows(const Tensor& rows, const raw::ReducePlan& plan, bool is_max, std::string_view op);
/// sum((x - mean)^2) / max(0, n - correction), two passes in double.
Tensor var_rows(const Tensor& rows, const raw::ReducePlan& plan, std::int64_t correction);
/// (sum |x|^p)^(1/p) in double; p = inf is max |x|, p = -inf min |x|, p = 0 counts the non-zeros.
Tensor norm_rows(const Tensor& rows, const raw::ReducePlan& plan, double p);
/// m + log(sum(exp(x - m))), m the max (m itself when m is infinite).
Tensor logsumexp_rows(const Tensor& rows, const raw::ReducePlan& plan);

/// A zero tensor of `shape` with out[..., positions[..., j, ...], ...] += values[..., j, ...] along layout.dim,
/// in order j = 0, 1, ... (values and positions dense, of one shape).
Tensor scatter_selected(const Tensor& values, const Tensor& positions, const Shape& shape,
                        const raw::AxisLayout& layout);

// The backward helpers of raw::share_among_ties, var_backward, norm_backward and logsumexp_backward (the raw
// ops compose these with raw::sum):
/// out = [x == selected] as 0/1 (selected expanded to x's shape).
void mark_ties(const Tensor& out, const Tensor& x, const Tensor& selected);
/// out = out * grad / ties in place (grad and ties expanded to out's shape).
void share_among_ties_(const Tensor& out, const Tensor& grad, const Tensor& ties);
/// grad * scale * (x - total / count); `total` (the keepdim sum of x) is divided by count in place.
Tensor var_backward(const Tensor& x, const Tensor& total, const Tensor& grad_kept, double count, double scale);
/// |x|.
Tensor magnitude(const Tensor& x);
/// sign(x) * shared.
Tensor sign_times(const Tensor& x, const Tensor& shared);
/// d ||x||_p / dx for a finite p (see raw::norm_backward).
Tensor norm_backward(const Tensor& x, const Tensor& norm_kept, const Tensor& grad_kept, double p);
/// grad * exp(x - logsumexp).
Tensor logsumexp_backward(const Tensor& x, const Tensor& lse_kept, const Tensor& grad_kept);

}  // namespace recgrad::cpu
