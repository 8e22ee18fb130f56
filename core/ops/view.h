// Views without copies (no autograd): each returns a tensor sharing the
// input's storage with new shape/strides/offset. The differentiable versions
// live in autograd/ops/view.h. expand and transpose, which the kernels of both devices use too, are
// declared in core/plans/view.h.
#pragma once

#include <optional>
#include <vector>

#include "core/plans/view.h"
#include "core/tensor.h"

namespace recgrad::raw {

/// Resolves one -1 entry of `shape` against `numel`; throws naming `op` on mismatch.
Shape infer_shape(const Shape& shape, std::int64_t numel, std::string_view op);
/// Strides that let `tensor` be viewed as `shape` without a copy, if any exist.
std::optional<Strides> view_strides(const Tensor& tensor, const Shape& shape);
/// A view with the new shape; throws when the layout does not allow one.
Tensor view(const Tensor& tensor, const Shape& shape);
/// A view when possible, otherwise a dense copy with the new shape.
Tensor reshape(const Tensor& tensor, const Shape& shape);
/// Reorders dimensions: result dim i is input dim order[i].
Tensor permute(const Tensor& tensor, const std::vector<std::int64_t>& order);
/// Inserts a dimension of extent 1 at `dim`.
Tensor unsqueeze(const Tensor& tensor, std::int64_t dim);
/// Removes dimension `dim`, which must have extent 1.
Tensor squeeze(const Tensor& tensor, std::int64_t dim);
/// Removes every dimension of extent 1.
Tensor squeeze(const Tensor& tensor);
/// Elements [start, start + length) along `dim`.
Tensor narrow(const Tensor& tensor, std::int64_t dim, std::int64_t start, std::int64_t length);
/// Elements start, start+step, ... < end along `dim` (Python slicing, step > 0).
Tensor slice(const Tensor& tensor, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1);
/// Index `index` of `dim`, removing that dimension.
Tensor select(const Tensor& tensor, std::int64_t dim, std::int64_t index);

}  // namespace recgrad::raw
