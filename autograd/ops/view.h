// Differentiable views and copies. A view's backward routes the gradient back
// into the input's shape: reshape reshapes it back, transpose transposes it
// back, expand sums it over the stretched dims, narrow pads it with zeros.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace recgrad {

Tensor reshape(const Tensor& x, const Shape& shape);
/// Like reshape, but throws when the layout needs a copy.
Tensor view(const Tensor& x, const Shape& shape);
/// Collapses dims [start_dim, end_dim] into one.
Tensor flatten(const Tensor& x, std::int64_t start_dim = 0, std::int64_t end_dim = -1);
Tensor transpose(const Tensor& x, std::int64_t dim0, std::int64_t dim1);
/// Transpose of a 2-D tensor (the last two dims of a batch).
Tensor t(const Tensor& x);
Tensor permute(const Tensor& x, const std::vector<std::int64_t>& order);
Tensor unsqueeze(const Tensor& x, std::int64_t dim);
Tensor squeeze(const Tensor& x, std::int64_t dim);
Tensor expand(const Tensor& x, const Shape& shape);
/// Elements [start, start + length) of `dim` (a view).
Tensor narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length);
/// Python-style x[start:end:step] along `dim` (a view).
Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1);
/// x[index] along `dim`, removing that dim (a view).
Tensor select(const Tensor& x, std::int64_t dim, std::int64_t index);
/// x itself when dense, otherwise a dense copy; gradient passes through.
Tensor contiguous(const Tensor& x);
/// A dense copy; gradient passes through.
Tensor clone(const Tensor& x);
/// Converts to `dtype`; the gradient is converted back.
Tensor to_dtype(const Tensor& x, DType dtype);

}  // namespace recgrad
