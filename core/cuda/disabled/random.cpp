// The random launchers of a build without the CUDA backend (core/cuda/built_without_cuda.h).
#include "core/cuda/random.h"
#include "core/cuda/built_without_cuda.h"

namespace recgrad::cuda {

void rand(const Tensor& out, double /*low*/, double /*high*/, std::uint64_t /*seed*/, std::uint64_t /*first_block*/) {
  throw_built_without_cuda(detail::concat("rand", " on ", out.device()));
}

void randn(const Tensor& out, std::uint64_t /*seed*/, std::uint64_t /*first_block*/) {
  throw_built_without_cuda(detail::concat("randn", " on ", out.device()));
}

void dropout(const Tensor& x, std::uint32_t /*keep_threshold*/, double /*scale*/, std::uint64_t /*seed*/,
             std::uint64_t /*first_block*/, const Tensor& /*out*/, const Tensor& /*keep*/) {
  throw_built_without_cuda(detail::concat("dropout", " on ", x.device()));
}

void dropout_backward(const Tensor& g, const Tensor& /*keep*/, double /*scale*/, const Tensor& /*out*/) {
  throw_built_without_cuda(detail::concat("dropout_backward", " on ", g.device()));
}

}  // namespace recgrad::cuda
