// Reductions without autograd. Every reduction is planned the same way: the
// reduced dimensions are moved last and the tensor is seen as a dense
// [outer, inner] matrix whose rows are reduced.
#pragma once

#include <string_view>
#include <vector>

#include "core/tensor.h"

namespace recgrad::raw {

/// Which dims a reduction removes and the shapes it produces.
struct ReducePlan {
  std::vector<bool> reduced;  // per input dim
  Shape kept_shape;           // output shape with keepdim=true (reduced dims -> 1)
  Shape out_shape;            // output shape honouring keepdim
  std::int64_t outer = 1;     // number of output elements
  std::int64_t inner = 1;     // number of elements reduced into each output
};

/// Normalises `dims` (empty means all dims) and computes the shapes. Throws
/// naming `op` for an out-of-range or repeated dim.
ReducePlan plan_reduction(const Tensor& input, const std::vector<std::int64_t>& dims, bool keepdim,
                          std::string_view op);

/// The input as a dense [outer, inner] matrix (kept dims first, reduced dims
/// last); copies only when the layout requires it.
Tensor as_reduction_rows(const Tensor& input, const ReducePlan& plan);

/// Sum over `dims` (all when empty); accumulates in double.
Tensor sum(const Tensor& input, const std::vector<std::int64_t>& dims = {}, bool keepdim = false);

/// Sums a broadcast gradient back to `shape` (the inverse of broadcasting):
/// leading extra dims and dims where shape has 1 are summed out.
Tensor sum_to(const Tensor& input, const Shape& shape);

}  // namespace recgrad::raw
