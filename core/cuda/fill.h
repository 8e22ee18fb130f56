// fill on a CUDA tensor: the first .cu kernel, used by raw::fill_.
#pragma once

#include "core/tensor.h"

namespace recgrad::cuda {

/// dst[i] = value (converted to dst's dtype) for every element of the view `dst` on a CUDA
/// device; any strides (up to 12 dimensions). Asynchronous on the default stream.
void fill(const Tensor& dst, double value);

}  // namespace recgrad::cuda
