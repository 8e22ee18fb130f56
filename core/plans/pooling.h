// The sizes of one pooling call and the max-pooling result, shared by the raw ops (core/ops/pooling.h)
// and the kernels of both devices.
#pragma once

#include "core/tensor.h"

namespace recgrad::raw {

/// The sizes of one pooling call, checked once. `planes` = the product of the dims before (H, W).
struct Pool2dGeometry {
  std::int64_t planes = 0, height = 0, width = 0, out_h = 0, out_w = 0;
  std::int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  std::int64_t dilation_h = 1, dilation_w = 1;
};

/// Max pooling: values [..., Ho, Wo] and i64 indices (ih * W + iw within the plane, like PyTorch's).
struct MaxPool2dResult {
  Tensor values;
  Tensor indices;
};

}  // namespace recgrad::raw
