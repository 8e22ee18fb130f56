// The masked_softmax launchers of a build without the CUDA backend (core/cuda/built_without_cuda.h).
#include "core/cuda/masked_softmax.h"
#include "core/cuda/built_without_cuda.h"

namespace recgrad::cuda {

void masked_softmax(const Tensor& out, const Tensor& /*x*/, const Tensor& /*mask*/, std::int64_t /*rows*/,
                    std::int64_t /*n*/) {
  throw_built_without_cuda(detail::concat("masked_softmax", " on ", out.device()));
}

}  // namespace recgrad::cuda
