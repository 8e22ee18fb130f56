// topk (core/ops/topk.h) on the CPU: a bounded heap per row, rows in parallel, with torch's order (larger or
// smaller value first, NaN as the largest, then the lower index). core/cuda/topk.cu is a radix select with the
// same rules on a GPU.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace recgrad::cpu {

/// For each row r of the dense numeric `rows` [count, n]: values[r] and indices[r] (dense [count, k],
/// indices i64) receive the k largest (largest = true) or smallest elements of the row, best first:
/// NaN ranks above every number, -0 and +0 are equal, equal values keep index order.
void topk_rows(const Tensor& rows, std::int64_t k, bool largest, const Tensor& values, const Tensor& indices);

}  // namespace recgrad::cpu
