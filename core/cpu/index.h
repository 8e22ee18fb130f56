// The index kernels (core/ops/index.h) on the CPU: index_select and cat as row memcpys, index_add_ in index
// order, gather and scatter_add_ as walks over the index. The raw ops check shapes, devices and every index
// value first; core/cuda/index.cu is the same on a GPU.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace recgrad::cpu {

/// The rows index[0..n) of the dense src (rank >= 1) along `dim` (normalised): out[..., i, ...] =
/// src[..., index[i], ...]. index: dense i64 or i32, already checked against src's extent.
Tensor index_select(const Tensor& src, int dim, const Tensor& index);
/// dst[..., index[i], ...] += src[..., i, ...] along `dim` for a dense dst and src, skipping i whose index equals
/// `skip`; the additions into one element happen in index order. Errors name `op`.
void index_add_(const Tensor& dst, int dim, const Tensor& index, const Tensor& src, std::int64_t skip, const char* op);
/// Copies every dense input into its block of `out` along `dim` (one memcpy per outer row); strided inputs
/// are left to the caller.
void cat_into(const Tensor& out, const std::vector<Tensor>& inputs, int dim);
/// out[p] = x[p with coordinate `dim` replaced by index[p]] for every position p of index (any strides).
void gather(const Tensor& out, const Tensor& x, int dim, const Tensor& index);
/// dst[p with coordinate `dim` replaced by index[p]] += src[p], serially in row-major index order (repeated
/// indices add up deterministically).
void scatter_add_(const Tensor& dst, int dim, const Tensor& index, const Tensor& src);

}  // namespace recgrad::cpu
