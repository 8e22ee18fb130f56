// The convolution layout kernels on the CPU (core/ops/conv.h explains the patch matrix): im2row and its
// adjoint, the output transposes and the bias gradient, for either patch layout. The raw ops check the
// arguments, make the operands dense and run the GEMMs; core/cuda/conv.cu is the same on a GPU.
#pragma once

#include <cstdint>

#include "core/plans/conv.h"
#include "core/tensor.h"

namespace recgrad::cpu {

/// Fills the logical patch matrix cols [nb * P, C*kh*kw] (stored as `layout` says) with the patches of
/// samples [b0, b0 + nb) of the dense x.
void im2row(const Tensor& x, const raw::Conv2dGeometry& g, std::int64_t b0, std::int64_t nb, const Tensor& cols,
            raw::PatchLayout layout);
/// The adjoint of im2row: writes dx for samples [b0, b0 + nb) from the logical dcols.
void row2im(const Tensor& dcols, const raw::Conv2dGeometry& g, std::int64_t b0, std::int64_t nb, const Tensor& dx,
            raw::PatchLayout layout);
/// out[b, o, pos] = rows[(b - b0) * P + pos, o] + bias[o] (bias may be undefined) for b in [b0, b0 + nb).
void rows_to_output(const Tensor& rows, const Tensor& bias, const raw::Conv2dGeometry& g, std::int64_t b0,
                    std::int64_t nb, const Tensor& out, raw::PatchLayout layout);
/// rows[(b - b0) * P + pos, o] = grad[b, o, pos] for b in [b0, b0 + nb).
void output_to_rows(const Tensor& grad, const raw::Conv2dGeometry& g, std::int64_t b0, std::int64_t nb,
                    const Tensor& rows, raw::PatchLayout layout);
/// db[o] = sum over b and pos of grad[b, o, pos], accumulated in double.
Tensor conv_bias_grad(const Tensor& grad, const raw::Conv2dGeometry& g);

}  // namespace recgrad::cpu
