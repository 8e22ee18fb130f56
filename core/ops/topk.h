// Top-k selection along one dim without autograd. Each row is scanned once
// with a k-entry heap when k is small next to the row (the ranking case: k of
// a few hundred over 100k items), otherwise partitioned with std::nth_element;
// rows run in parallel.
#pragma once

#include <cstdint>

#include "core/ops/reduce.h"
#include "core/tensor.h"

namespace recgrad::raw {

/// The k largest (largest = true) or smallest elements along `dim` and their
/// i64 indices, best first. NaN ranks above every number (as in torch); equal
/// values keep index order. `sorted` is accepted for API parity: results are
/// always sorted. Throws for k outside [0, size(dim)], a bad dim, a 0-d input
/// or a non-numeric dtype.
ValuesIndices topk(const Tensor& x, std::int64_t k, std::int64_t dim = -1, bool largest = true, bool sorted = true);

}  // namespace recgrad::raw
