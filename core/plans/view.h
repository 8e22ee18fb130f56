// The two views the kernels of both devices need (broadcast operands, transposed GEMM operands): pure
// geometry over the same storage, no copy. The other views are in core/ops/view.h.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace recgrad::raw {

/// Swaps two dimensions.
Tensor transpose(const Tensor& tensor, std::int64_t dim0, std::int64_t dim1);
/// Broadcasts to `shape` (stride 0 on stretched dims); -1 keeps an extent.
Tensor expand(const Tensor& tensor, const Shape& shape);

}  // namespace recgrad::raw
