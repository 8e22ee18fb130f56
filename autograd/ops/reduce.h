// Differentiable reductions over any set of dims (empty = all), with keepdim.
//   sum:  d/dx = g expanded back over the reduced dims
//   mean: d/dx = g / n expanded back
#pragma once

#include <vector>

#include "core/tensor.h"

namespace recgrad {

Tensor sum(const Tensor& x, const std::vector<std::int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<std::int64_t>& dims = {}, bool keepdim = false);

}  // namespace recgrad
