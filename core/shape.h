// Shapes and strides: element counts, contiguous strides, broadcasting rules and
// dimension normalisation shared by every op.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace recgrad {

/// A tensor's extent along each dimension; {} is a scalar (0-d) shape.
using Shape = std::vector<std::int64_t>;
/// Step, in elements, between neighbours along each dimension.
using Strides = std::vector<std::int64_t>;

/// Product of the extents (1 for a scalar shape).
std::int64_t numel_of(const Shape& shape);

/// Row-major strides of a dense tensor of `shape`: strides[d] = prod(shape[d+1:]).
Strides contiguous_strides(const Shape& shape);

/// NumPy broadcasting of two shapes (align right; 1 stretches). Throws naming `op`.
Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op);

/// Turns a possibly negative dim into [0, rank); throws naming `op` when out of range.
int normalize_dim(std::int64_t dim, std::int64_t rank, std::string_view op);

/// "[2, 3, 4]".
std::string shape_str(const Shape& shape);

}  // namespace recgrad

namespace std {
// Lets shapes appear directly in RG_CHECK messages.
inline ostream& operator<<(ostream& out, const vector<int64_t>& shape) {
  out << '[';
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  return out << ']';
}
}  // namespace std
