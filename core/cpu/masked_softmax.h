// masked_softmax (core/ops/masked_softmax.h) on the CPU: rows in parallel, masked entries set to -inf before
// the row softmax and to 0 after it (a row with nothing to attend to is all 0). core/cuda/masked_softmax.cu
// is the same on a GPU.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace recgrad::cpu {

/// out = softmax of each row of the dense [rows, n] x with the entries where `mask` (b8 of x's shape, any
/// strides, e.g. broadcast) is true excluded.
void masked_softmax(const Tensor& out, const Tensor& x, const Tensor& mask, std::int64_t rows, std::int64_t n);

}  // namespace recgrad::cpu
