// Joining tensors and indexing with integer tensors, without autograd:
// cat/stack copy their inputs into one new tensor; index_select, gather and
// embedding read elements chosen by an index tensor (i64 or i32); index_add_,
// scatter_add_ and embedding_backward are their adjoints (they add into a
// destination, in a fixed order, so results are deterministic).
// Every index is checked before any element is touched: an out-of-range value
// throws naming the op, the value and its position in the index tensor.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace recgrad::raw {

/// Concatenation along `dim`: all inputs share dtype, rank and every extent but `dim`'s.
Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim);
/// Stacks equal-shaped inputs along a new dimension `dim` (0..rank).
Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim);

/// out = x with dimension `dim` indexed by the 1-D `index`: out[..., i, ...] = x[..., index[i], ...].
Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index);
/// dst[..., index[i], ...] += src[..., i, ...] (the adjoint of index_select); bumps dst's version.
void index_add_(const Tensor& dst, std::int64_t dim, const Tensor& index, const Tensor& src);

/// out[i][j][k] = x[index[i][j][k]][j][k] for dim 0 (likewise for other dims);
/// index has x's rank, extents <= x's except along `dim`; out has index's shape.
Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index);
/// dst[index[i][j][k]][j][k] += src[i][j][k] for dim 0 (the adjoint of gather),
/// visiting index positions in row-major order; bumps dst's version.
void scatter_add_(const Tensor& dst, std::int64_t dim, const Tensor& index, const Tensor& src);
/// A copy of x with scatter_add_ applied.
Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src);

/// Rows of weight [V, D] chosen by `indices` (any shape): out[..., :] = weight[indices[...], :].
Tensor embedding(const Tensor& weight, const Tensor& indices);
/// The gradient of embedding for weight: grad_weight[v] = sum of grad_out rows
/// whose index is v, except v == padding_idx (zero; padding_idx < 0 means none).
/// Parallel over the embedding dim, so the sum order is fixed.
Tensor embedding_backward(const Tensor& grad_out, const Tensor& indices, std::int64_t num_weights,
                          std::int64_t padding_idx);

}  // namespace recgrad::raw
