// Random masks without autograd: the Bernoulli keep mask of dropout and the
// fused kernels of inverted dropout.
//
// Element i of a mask drawn from `generator` uses word (i % 4) of the Philox
// block (start + i / 4), start being the first of the ceil(n / 4) counters
// the op reserves, exactly like rand() in core/factory.h: the mask equals
// rand(shape) >= p for the same generator state, whatever the thread count.
#pragma once

#include "core/rng.h"
#include "core/tensor.h"

namespace recgrad::raw {

/// keep[i] = (u_i >= p), u_i the i-th uniform in [0, 1) (24-bit, as rand());
/// a b8 tensor of `shape`. Throws unless 0 <= p <= 1.
Tensor dropout_keep_mask(const Shape& shape, double p, Generator& generator);

/// What the dropout forward produces: the output and the mask its backward needs.
struct DropoutResult {
  Tensor output;  // x * keep / (1 - p), dense, x's shape and dtype
  Tensor keep;    // b8, x's shape
};

/// Inverted dropout in one pass: draws keep as dropout_keep_mask does and
/// returns x * keep / (1 - p). Needs a floating x and 0 <= p < 1.
DropoutResult dropout(const Tensor& x, double p, Generator& generator);

/// g * keep * scale (the dropout backward, scale = 1 / (1 - p)).
Tensor dropout_backward(const Tensor& g, const Tensor& keep, double scale);

}  // namespace recgrad::raw
