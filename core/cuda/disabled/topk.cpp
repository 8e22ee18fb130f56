// The topk launchers of a build without the CUDA backend (core/cuda/built_without_cuda.h).
#include "core/cuda/topk.h"
#include "core/cuda/built_without_cuda.h"

namespace recgrad::cuda {

void topk_rows(const Tensor& rows, std::int64_t /*k*/, bool /*largest*/, const Tensor& /*values*/,
               const Tensor& /*indices*/) {
  throw_built_without_cuda(detail::concat("topk_rows", " on ", rows.device()));
}

}  // namespace recgrad::cuda
