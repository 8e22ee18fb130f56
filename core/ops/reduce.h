// Reductions without autograd. Every reduction is planned the same way: the
// reduced dimensions are moved last and the tensor is seen as a dense
// [outer, inner] matrix whose rows are reduced.
#pragma once

#include <string_view>
#include <vector>

#include "core/plans/reduce.h"
#include "core/tensor.h"

namespace recgrad::raw {

/// The input as a dense [outer, inner] matrix (kept dims first, reduced dims
/// last); copies only when the layout requires it.
Tensor as_reduction_rows(const Tensor& input, const ReducePlan& plan);

/// Sum over `dims` (all when empty); accumulates in double.
Tensor sum(const Tensor& input, const std::vector<std::int64_t>& dims = {}, bool keepdim = false);

/// Sums a broadcast gradient back to `shape` (the inverse of broadcasting):
/// leading extra dims and dims where shape has 1 are summed out.
Tensor sum_to(const Tensor& input, const Shape& shape);

/// Largest element along `dim` and the index of its first occurrence; NaN
/// counts as larger than any number (like torch.max).
ValuesIndices max_dim(const Tensor& input, std::int64_t dim, bool keepdim = false);
/// Smallest element along `dim` and the index of its first occurrence; NaN wins.
ValuesIndices min_dim(const Tensor& input, std::int64_t dim, bool keepdim = false);

/// Largest (amax) or smallest (amin) element over `dims` (all when empty); NaN wins.
Tensor amax(const Tensor& input, const std::vector<std::int64_t>& dims = {}, bool keepdim = false);
Tensor amin(const Tensor& input, const std::vector<std::int64_t>& dims = {}, bool keepdim = false);

/// Variance over `dims`: sum((x - mean)^2) / max(0, n - correction), two-pass in double.
Tensor var(const Tensor& input, const std::vector<std::int64_t>& dims, std::int64_t correction, bool keepdim);

/// Vector p-norm over `dims`: (sum |x|^p)^(1/p); p = inf is max |x|, p = -inf
/// min |x|, p = 0 counts the non-zeros.
Tensor norm(const Tensor& input, double p, const std::vector<std::int64_t>& dims, bool keepdim);

/// log(sum(exp(x))) over `dims`, computed as m + log(sum(exp(x - m))) with m the max.
Tensor logsumexp(const Tensor& input, const std::vector<std::int64_t>& dims, bool keepdim);

/// The gradient of a selection along `dim`: a zero tensor of `shape` with
/// out[..., index[..., j, ...], ...] += src[..., j, ...]. `src` and `index`
/// (i64) share a shape that equals `shape` except along `dim`.
Tensor scatter_selected(const Tensor& src, const Tensor& index, const Shape& shape, std::int64_t dim);

/// out = grad * [x == selected] / count, where selected (kept shape) is the
/// amax/amin/inf-norm of x over the reduced dims and count the number of ties
/// per output: the gradient is shared evenly between tied extrema.
Tensor share_among_ties(const Tensor& x, const Tensor& selected_kept, const Tensor& grad_kept,
                        const std::vector<std::int64_t>& dims);

// Backward kernels of the reductions above; `*_kept` tensors have the
// keepdim=true output shape and broadcast against x.

/// d var / dx = grad * 2 (x - mean) / max(0, n - correction).
Tensor var_backward(const Tensor& x, const Tensor& grad_kept, const std::vector<std::int64_t>& dims,
                    std::int64_t correction);
/// d ||x||_p / dx = grad * sign(x) |x|^(p-1) / ||x||^(p-1) (x / ||x|| for p = 2,
/// sign(x) for p = 1, shared among the extreme |x| for p = +-inf; 0 for p = 0, a zero norm,
/// or an element at 0 when p < 1).
Tensor norm_backward(const Tensor& x, const Tensor& norm_kept, const Tensor& grad_kept, double p,
                     const std::vector<std::int64_t>& dims);
/// d logsumexp / dx = grad * exp(x - logsumexp) (the softmax of x).
Tensor logsumexp_backward(const Tensor& x, const Tensor& lse_kept, const Tensor& grad_kept);

}  // namespace recgrad::raw
