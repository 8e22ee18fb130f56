// Writing and converting tensors on the CPU (core/ops/copy.h): fill and the strided, broadcasting,
// dtype-converting copy, through the one elementwise loop of core/cpu/loops.h. core/cuda/copy.cu is the same
// on a GPU.
#pragma once

#include "core/tensor.h"

namespace recgrad::cpu {

/// dst[i] = value (converted to dst's dtype) for every element of the view `dst`; any strides.
void fill(const Tensor& dst, double value);

/// dst[i] = static_cast<dst dtype>(src[i]) for any strides and dtypes (src expanded to dst's shape).
void copy(const Tensor& dst, const Tensor& src);

}  // namespace recgrad::cpu
