// The indexing ops of core/ops/index.h on a CUDA device: cat, index_select
// (and so embedding), gather, and the deterministic adjoints index_add_
// (and so embedding_backward) and scatter_add_.
//
// The callers in core/ops/index.cpp do every shape and dtype check first, so
// the messages are the same on both devices; the index values are checked
// with first_invalid_index (one small read back to the host per call). The
// functions here then trust their arguments.
//
// No float atomics: the adds of index_add_ and scatter_add_ sort the index
// positions by target (a stable radix sort, so equal targets keep their
// position order) and let one thread sum each target's sources in that order.
// That is the CPU's order too, so the results are bit-identical to the CPU's
// and to every other run.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace recgrad::cuda {

/// Where an index tensor first leaves its range: `position` is the row-major
/// position of the first value outside [0, bound) and `value` that value;
/// position -1 when every value is in range.
struct InvalidIndex {
  std::int64_t position = -1;
  std::int64_t value = 0;
};

/// Checks every value of the dense i64/i32 `index` against [0, bound) on the
/// device and returns the first one outside it. One kernel, then one 8-byte
/// copy to the host (which waits for the device: the one synchronisation of
/// an indexing op); a second 8-byte copy reads the bad value, on the error path only.
InvalidIndex first_invalid_index(const Tensor& index, std::int64_t bound, const char* op);

/// out[..., start_i + j, ...] = inputs[i][..., j, ...] along `dim`: each input
/// (any strides) is copied into its slice of the dense `out` by one kernel.
void cat_into(const Tensor& out, const std::vector<Tensor>& inputs, int dim);

/// out = x[..., index[i], ...] along `dim` for the dense 1-D `index` (values
/// already checked); x has any strides and at least one dimension; out is dense.
Tensor index_select(const Tensor& x, int dim, const Tensor& index, const char* op);

/// dst[b, index[i], c] += src[b, i, c] for dense dst [outer, extent, inner]
/// (dimension `dim` of dst) and dense src [outer, count, inner], skipping the
/// positions whose index equals `skip` (-1: none). The sources of one target
/// are added in position order (as on the CPU).
void index_add_(const Tensor& dst, int dim, const Tensor& index, const Tensor& src, std::int64_t skip, const char* op);

/// out[p] = x[p with coordinate `dim` replaced by index[p]] for every
/// position p of the dense `index` (x any strides, at least one dimension).
Tensor gather(const Tensor& x, int dim, const Tensor& index);

/// dst[p with coordinate `dim` replaced by index[p]] += src[p] for every
/// position p of the dense `index` (dst and src any strides), adding the
/// sources of one target in row-major position order (as on the CPU).
void scatter_add_(const Tensor& dst, int dim, const Tensor& index, const Tensor& src);

}  // namespace recgrad::cuda
