// bf16 <-> f32 conversion of dense tensors on a CUDA device: vectorised kernels (four elements per
// thread) for the conversions around bf16 GEMMs, e.g. Muon's Newton-Schulz iterations. They round
// exactly as recgrad::bfloat16 does on the host (nearest even, NaN stays NaN), so a tensor converted
// on either device has the same bits. Strided views go through the generic copy kernel (copy_).
#pragma once

#include "core/tensor.h"

namespace recgrad::cuda {

/// dst[i] = bfloat16(src[i]) for a contiguous f32 `src` and a contiguous bf16 `dst` of the same shape
/// on one CUDA device (round to nearest even; overflow gives infinity; NaN stays NaN).
void f32_to_bf16(const Tensor& dst, const Tensor& src);

/// dst[i] = float(src[i]) (exact) for a contiguous bf16 `src` and a contiguous f32 `dst` of the same
/// shape on one CUDA device.
void bf16_to_f32(const Tensor& dst, const Tensor& src);

}  // namespace recgrad::cuda
