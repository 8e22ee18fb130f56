// Differentiable inverted dropout. In training each element is kept with
// probability 1 - p and scaled so the expectation is unchanged:
//   y = x * keep / (1 - p)        dx = g * keep / (1 - p)
// keep_i = (u_i >= p) with u_i the i-th Philox uniform of the generator
// (core/ops/random.h), so a seed fixes the mask on any thread count.
#pragma once

#include "core/rng.h"
#include "core/tensor.h"

namespace recgrad {

/// Inverted dropout with drop probability p in [0, 1]. Returns x itself when
/// !training or p == 0, and x * 0 (zeros, zero gradient) when p == 1. Draws
/// from `generator`, or from the default generator when null.
Tensor dropout(const Tensor& x, double p, bool training, Generator* generator = nullptr);

}  // namespace recgrad
