#include "core/shape.h"

#include <sstream>

#include "core/error.h"

namespace recgrad {

std::int64_t numel_of(const Shape& shape) {
  std::int64_t count = 1;
  for (std::int64_t extent : shape) count *= extent;
  return count;
}

Strides contiguous_strides(const Shape& shape) {
  Strides strides(shape.size());
  std::int64_t step = 1;
  for (std::size_t d = shape.size(); d-- > 0;) {
    strides[d] = step;
    step *= shape[d] > 0 ? shape[d] : 1;
  }
  return strides;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op) {
  const std::size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    const std::int64_t ea = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const std::int64_t eb = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    RG_CHECK(ea == eb || ea == 1 || eb == 1, op, ": shapes ", a, " and ", b,
             " cannot be broadcast together (dimension ", i, ": ", ea, " vs ", eb, ")");
    out[i] = ea == 1 ? eb : ea;
  }
  return out;
}

int normalize_dim(std::int64_t dim, std::int64_t rank, std::string_view op) {
  const std::int64_t lo = rank == 0 ? -1 : -rank;
  const std::int64_t hi = rank == 0 ? 0 : rank - 1;
  RG_CHECK(dim >= lo && dim <= hi, op, ": dimension ", dim, " is out of range for a tensor of rank ", rank,
           " (expected [", lo, ", ", hi, "])");
  return static_cast<int>(dim < 0 ? dim + std::max<std::int64_t>(rank, 1) : dim);
}

std::string shape_str(const Shape& shape) {
  std::ostringstream out;
  out << shape;
  return out.str();
}

}  // namespace recgrad
