// Differentiable reductions over any set of dims (empty = all), with keepdim.
//   sum:       d/dx = g expanded back over the reduced dims
//   mean:      d/dx = g / n expanded back
//   max/min:   values along one dim; d/dx = g at the first arg-extremum, 0 elsewhere
//   amax/amin: extremum over dims; d/dx = g shared evenly between tied extrema
//   var:       sum((x - mean)^2) / (n - correction); d/dx = g * 2 (x - mean) / (n - correction)
//   norm:      (sum |x|^p)^(1/p); d/dx = g * sign(x) |x|^(p-1) / norm^(p-1) (x / norm for p = 2)
//   logsumexp: m + log(sum(exp(x - m))), m = max x; d/dx = g * exp(x - logsumexp) = g * softmax(x)
#pragma once

#include <limits>
#include <vector>

#include "core/tensor.h"

namespace recgrad {

Tensor sum(const Tensor& x, const std::vector<std::int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<std::int64_t>& dims = {}, bool keepdim = false);

/// Largest value along `dim` (NaN wins); the gradient goes to its first occurrence.
Tensor max(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// Smallest value along `dim` (NaN wins); the gradient goes to its first occurrence.
Tensor min(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// i64 index of the first largest / smallest value along `dim` (not differentiable).
Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim = false);
Tensor argmin(const Tensor& x, std::int64_t dim, bool keepdim = false);

/// Largest / smallest value over `dims` (all when empty); ties share the gradient evenly.
Tensor amax(const Tensor& x, const std::vector<std::int64_t>& dims = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const std::vector<std::int64_t>& dims = {}, bool keepdim = false);

/// Variance over `dims` with Bessel-style `correction` (1: unbiased, 0: population).
Tensor var(const Tensor& x, const std::vector<std::int64_t>& dims = {}, std::int64_t correction = 1,
           bool keepdim = false);

/// Vector p-norm over `dims` (all when empty); p may be any real, or +-infinity.
Tensor norm(const Tensor& x, double p = 2.0, const std::vector<std::int64_t>& dims = {}, bool keepdim = false);

/// log(sum(exp(x))) over `dims`, numerically stable.
Tensor logsumexp(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim = false);

}  // namespace recgrad
