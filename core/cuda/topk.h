// topk on a CUDA device (the kernels behind raw::topk in core/ops/topk.h).
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace recgrad::cuda {

/// For each row r of the dense numeric `rows` [count, n]: values[r] and indices[r] (dense [count, k],
/// indices i64) receive the k largest (largest = true) or smallest elements of the row, best first,
/// exactly as on the CPU: NaN ranks above every number, -0 and +0 are equal, equal values keep index
/// order. One block per row: a radix select finds the k-th key, the k winners are compacted in index
/// order, then sorted (in shared memory when k <= 1024, else by CUB's segmented radix sort).
void topk_rows(const Tensor& rows, std::int64_t k, bool largest, const Tensor& values, const Tensor& indices);

}  // namespace recgrad::cuda
