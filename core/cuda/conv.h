// Convolution layout kernels on a CUDA device (core/ops/conv.h). The raw ops check
// their arguments, make the operands dense and run the GEMMs (raw::gemm_into, cuBLAS); these functions are
// the layout kernels around them. Every tensor passed in is dense and on the same CUDA device.
// Every output element is written by exactly one thread, gathering its inputs in a fixed order: no atomics,
// so results are deterministic, and the sums run in the order the CPU kernels use.
#pragma once

#include <cstdint>

#include "core/plans/conv.h"
#include "core/tensor.h"

namespace recgrad::cuda {

// ---- conv2d (see core/ops/conv.h for the patch matrix "cols" and the rows layout) ----

/// cols[(b - b0) * P + oh * Wo + ow, (c * kh + i) * kw + j] = x[b, c, oh*sh - ph + i*dh, ow*sw - pw + j*dw]
/// (0 outside the input) for samples b in [b0, b0 + nb).
void im2row(const Tensor& x, const raw::Conv2dGeometry& g, std::int64_t b0, std::int64_t nb, const Tensor& cols);
/// Writes dx[b] for b in [b0, b0 + nb): each input element sums the dcols entries that im2row copied it to.
void row2im(const Tensor& dcols, const raw::Conv2dGeometry& g, std::int64_t b0, std::int64_t nb, const Tensor& dx);
/// out[b, o, pos] = rows[(b - b0) * P + pos, o] + bias[o] (bias may be undefined) for b in [b0, b0 + nb).
void rows_to_output(const Tensor& rows, const Tensor& bias, const raw::Conv2dGeometry& g, std::int64_t b0,
                    std::int64_t nb, const Tensor& out);
/// rows[(b - b0) * P + pos, o] = grad[b, o, pos] for b in [b0, b0 + nb).
void output_to_rows(const Tensor& grad, const raw::Conv2dGeometry& g, std::int64_t b0, std::int64_t nb,
                    const Tensor& rows);
/// db[o] = sum over b and pos of grad[b, o, pos] (one block per channel, accumulated in double).
Tensor conv_bias_grad(const Tensor& grad, const raw::Conv2dGeometry& g);

}  // namespace recgrad::cuda
