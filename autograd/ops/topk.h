// Differentiable top-k along one dim: values are differentiable, indices
// (i64) are not. Backward scatters the gradient of each value back to the
// position it was taken from: dx[..., indices[..., j], ...] = g[..., j, ...].
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace recgrad {

struct TopK {
  Tensor values;
  Tensor indices;
};

/// The k largest (or smallest) elements along `dim`, best first, with their
/// indices; NaN ranks above every number, equal values keep index order.
TopK topk(const Tensor& x, std::int64_t k, std::int64_t dim = -1, bool largest = true, bool sorted = true);

}  // namespace recgrad
