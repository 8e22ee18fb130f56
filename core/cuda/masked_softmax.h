// masked_softmax on CUDA (see core/ops/masked_softmax.h).
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace recgrad::cuda {

/// out[r, :] = softmax of x[r, :] over the entries where mask[r, :] is false, 0 where it is true, and a
/// zero row when all are masked; x, mask (b8) and out are dense [rows, n] on one GPU.
void masked_softmax(const Tensor& out, const Tensor& x, const Tensor& mask, std::int64_t rows, std::int64_t n);

}  // namespace recgrad::cuda
