// Copies and conversions without autograd: fill, strided copy with broadcasting
// and dtype conversion, contiguous, clone, dtype and device moves.
#pragma once

#include "core/tensor.h"

namespace recgrad::raw {

/// Sets every element of `dst` (any view) to `value`; bumps its version.
void fill_(const Tensor& dst, double value);
/// dst[i] = convert(src[i]); `src` must broadcast to dst's shape. Bumps dst's version.
void copy_(const Tensor& dst, const Tensor& src);
/// A dense copy of `src` (always a new storage).
Tensor clone(const Tensor& src);
/// `src` itself when already dense, otherwise a dense copy.
Tensor contiguous(const Tensor& src);
/// A copy converted to `dtype` (`src` itself when it already has it).
Tensor to_dtype(const Tensor& src, DType dtype);
/// `src` on `device` (`src` itself when already there).
Tensor to_device(const Tensor& src, Device device);

}  // namespace recgrad::raw
