// Moving a tensor between devices inside the autograd graph, so a model can
// take its inputs on the CPU and compute on a GPU (or back) and still train:
//   y = x copied to `device`        dx = dy copied back to x's device
#pragma once

#include "core/tensor.h"

namespace recgrad {

/// x on `device`: x itself when it is already there, otherwise a dense copy
/// (raw::to_device) whose gradient is copied back to x's device. Throws a
/// recgrad::Error when `device` is a GPU that is not available.
Tensor to_device(const Tensor& x, Device device);

}  // namespace recgrad
