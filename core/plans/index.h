// A tensor seen as [outer, extent, inner] around one dim: the geometry the index raw ops (core/ops/index.h)
// check against and the CPU kernels walk.
#pragma once

#include <cstdint>

#include "core/shape.h"

namespace recgrad::raw {

// Extents of a tensor seen as [outer, size(dim), inner].
struct DimSplit {
  std::int64_t outer = 1, extent = 1, inner = 1;
};
inline DimSplit split_at(const Shape& shape, int dim) {
  DimSplit s;
  for (int d = 0; d < dim; ++d) s.outer *= shape[d];
  s.extent = shape.empty() ? 1 : shape[dim];
  for (std::size_t d = dim + 1; d < shape.size(); ++d) s.inner *= shape[d];
  return s;
}

}  // namespace recgrad::raw
