// The conv launchers of a build without the CUDA backend (core/cuda/built_without_cuda.h).
#include "core/cuda/conv.h"
#include "core/cuda/built_without_cuda.h"

namespace recgrad::cuda {

void im2row(const Tensor& /*x*/, const raw::Conv2dGeometry& /*g*/, std::int64_t /*b0*/, std::int64_t /*nb*/,
            const Tensor& /*cols*/) {
  throw_built_without_cuda("im2row");
}

void row2im(const Tensor& /*dcols*/, const raw::Conv2dGeometry& /*g*/, std::int64_t /*b0*/, std::int64_t /*nb*/,
            const Tensor& /*dx*/) {
  throw_built_without_cuda("row2im");
}

void rows_to_output(const Tensor& /*rows*/, const Tensor& /*bias*/, const raw::Conv2dGeometry& /*g*/,
                    std::int64_t /*b0*/, std::int64_t /*nb*/, const Tensor& /*out*/) {
  throw_built_without_cuda("rows_to_output");
}

void output_to_rows(const Tensor& /*grad*/, const raw::Conv2dGeometry& /*g*/, std::int64_t /*b0*/, std::int64_t /*nb*/,
                    const Tensor& /*rows*/) {
  throw_built_without_cuda("output_to_rows");
}

Tensor conv_bias_grad(const Tensor& /*grad*/, const raw::Conv2dGeometry& /*g*/) {
  throw_built_without_cuda("conv_bias_grad");
}

}  // namespace recgrad::cuda
