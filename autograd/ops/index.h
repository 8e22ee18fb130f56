// Differentiable joining, splitting and integer indexing.
//   cat / stack:     the gradient of each input is its slice of g (a view of g)
//   split / chunk:   views (narrow); each piece's gradient lands in its window
//   index_select:    dx = index_add(zeros_like(x), dim, index, g)
//   gather:          dx = scatter_add(zeros_like(x), dim, index, g)
//   scatter_add:     dx = g, dsrc = gather(g, dim, index)
//   embedding:       dW[v] = sum of g rows whose index is v (0 for v == padding_idx)
// Index tensors are i64 or i32; an out-of-range index throws naming the op,
// the value and its position.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace recgrad {

/// Concatenates along `dim`; all inputs share dtype and every extent but `dim`'s.
Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim = 0);
/// Stacks equal-shaped inputs along a new dimension `dim`.
Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim = 0);
/// Views of consecutive pieces of `split_size` along `dim` (the last may be smaller).
std::vector<Tensor> split(const Tensor& x, std::int64_t split_size, std::int64_t dim = 0);
/// `chunks` pieces of ceil(size / chunks) along `dim` (fewer when the size runs out), as views.
std::vector<Tensor> chunk(const Tensor& x, std::int64_t chunks, std::int64_t dim = 0);
/// out[..., i, ...] = x[..., index[i], ...] for a 1-D index along `dim`.
Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index);
/// out[i][j] = x[index[i][j]][j] (dim 0) / x[i][index[i][j]] (dim 1), any rank; out has index's shape.
Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index);
/// out = x, then out[index[i][j]][j] += src[i][j] (dim 0; likewise for other dims).
Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src);
/// out[..., :] = weight[indices[...], :] for weight [V, D] and indices of any
/// shape (i64/i32 in [0, V)) -> [..., D]. Row padding_idx gets no gradient
/// (padding_idx < 0: none).
Tensor embedding(const Tensor& weight, const Tensor& indices, std::int64_t padding_idx = -1);

}  // namespace recgrad
