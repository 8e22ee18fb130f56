// What layer_norm and rms_norm return (core/ops/norm.h), shared with the kernels of both devices.
#pragma once

#include "core/tensor.h"

namespace recgrad::raw {

/// Output and saved per-row statistics (mean and rstd are [rows]; mean is
/// undefined for rms_norm).
struct NormForward {
  Tensor output, mean, rstd;
};

/// Gradients of a normalization; undefined where not requested.
struct NormGrads {
  Tensor x, weight, bias;
};

}  // namespace recgrad::raw
