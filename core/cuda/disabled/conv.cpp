// The conv launchers of a build without the CUDA backend (core/cuda/built_without_cuda.h).
#include "core/cuda/conv.h"
#include "core/cuda/built_without_cuda.h"

namespace recgrad::cuda {

void im2row(const Tensor& x, const raw::Conv2dGeometry& /*g*/, std::int64_t /*b0*/, std::int64_t /*nb*/,
            const Tensor& /*cols*/) {
  throw_built_without_cuda(detail::concat("im2row", " on ", x.device()));
}

void row2im(const Tensor& dcols, const raw::Conv2dGeometry& /*g*/, std::int64_t /*b0*/, std::int64_t /*nb*/,
            const Tensor& /*dx*/) {
  throw_built_without_cuda(detail::concat("row2im", " on ", dcols.device()));
}

void rows_to_output(const Tensor& rows, const Tensor& /*bias*/, const raw::Conv2dGeometry& /*g*/, std::int64_t /*b0*/,
                    std::int64_t /*nb*/, const Tensor& /*out*/) {
  throw_built_without_cuda(detail::concat("rows_to_output", " on ", rows.device()));
}

void output_to_rows(const Tensor& grad, const raw::Conv2dGeometry& /*g*/, std::int64_t /*b0*/, std::int64_t /*nb*/,
                    const Tensor& /*rows*/) {
  throw_built_without_cuda(detail::concat("output_to_rows", " on ", grad.device()));
}

Tensor conv_bias_grad(const Tensor& grad, const raw::Conv2dGeometry& /*g*/) {
  throw_built_without_cuda(detail::concat("conv_bias_grad", " on ", grad.device()));
}

}  // namespace recgrad::cuda
