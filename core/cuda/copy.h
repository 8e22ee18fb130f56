// Writing and converting tensors on a CUDA device (core/ops/copy.h): fill, the strided, broadcasting,
// dtype-converting copy, and the vectorised bf16 <-> f32 conversions of dense tensors around bf16 GEMMs
// (e.g. Muon's Newton-Schulz iterations). The bf16 conversions round exactly as recgrad::bfloat16 does on
// the host (nearest even, NaN stays NaN), so a tensor converted on either device has the same bits.
// Plain C++ header: no CUDA includes.
#pragma once

#include "core/tensor.h"

namespace recgrad::cuda {

/// dst[i] = value (converted to dst's dtype) for every element of the view `dst` on a CUDA
/// device; any strides (up to 12 dimensions). Asynchronous on the default stream.
void fill(const Tensor& dst, double value);

/// dst[i] = static_cast<dst dtype>(src[i]) for any strides and dtypes (src expanded to dst's shape); a dense
/// copy without conversion goes to the copy engine.
void copy(const Tensor& dst, const Tensor& src);

/// dst[i] = bfloat16(src[i]) for a contiguous f32 `src` and a contiguous bf16 `dst` of the same shape
/// on one CUDA device (round to nearest even; overflow gives infinity; NaN stays NaN).
void f32_to_bf16(const Tensor& dst, const Tensor& src);

/// dst[i] = float(src[i]) (exact) for a contiguous bf16 `src` and a contiguous f32 `dst` of the same
/// shape on one CUDA device.
void bf16_to_f32(const Tensor& dst, const Tensor& src);

}  // namespace recgrad::cuda
