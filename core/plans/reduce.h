// How a reduction sees its input, shared by the raw reductions (core/ops/reduce.h) and the kernels of
// both devices: the reduced dims and output shapes (ReducePlan), the [outer, size, inner] layout around
// one dim (AxisLayout), and the values + indices of a selection along a dim.
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

/// A dense tensor seen as [outer, size, inner] around one dim: element
/// (o, j, i) sits at o * size * inner + j * inner + i. Ops along one dim
/// (max, softmax, topk) walk this layout. A 0-d tensor is [1, 1, 1].
struct AxisLayout {
  int dim = 0;             // the normalised dim
  std::int64_t outer = 1;  // product of the extents before dim
  std::int64_t size = 1;   // extent of dim
  std::int64_t inner = 1;  // product of the extents after dim
};
/// The layout of `shape` around `dim`; throws naming `op` for a bad dim.
AxisLayout axis_layout(const Shape& shape, std::int64_t dim, std::string_view op);
/// `shape` with dimension `dim` reduced to extent 1 (keepdim) or removed.
Shape reduced_shape(const Shape& shape, int dim, bool keepdim);

/// Values and i64 indices of a selection along one dim (max, min, topk).
struct ValuesIndices {
  Tensor values;
  Tensor indices;
};

}  // namespace recgrad::raw
