// The binary launchers of a build without the CUDA backend (core/cuda/built_without_cuda.h).
#include "core/cuda/binary.h"
#include "core/cuda/built_without_cuda.h"

namespace recgrad::cuda {

Tensor binary(std::string_view name, BinaryOp /*op*/, raw::ElementKinds /*kinds*/, const Tensor& a,
              const Tensor& /*b*/) {
  throw_built_without_cuda(detail::concat(name, " on ", a.device()));
}

Tensor ternary(std::string_view name, TernaryOp /*op*/, const Tensor& a, const Tensor& /*b*/, const Tensor& /*c*/) {
  throw_built_without_cuda(detail::concat(name, " on ", a.device()));
}

void binary(BinaryOp /*op*/, const Tensor& out, const Tensor& /*a*/, const Tensor& /*b*/, double /*p0*/) {
  throw_built_without_cuda(detail::concat("binary", " on ", out.device()));
}

void ternary(TernaryOp /*op*/, const Tensor& out, const Tensor& /*a*/, const Tensor& /*b*/, const Tensor& /*c*/) {
  throw_built_without_cuda(detail::concat("ternary", " on ", out.device()));
}

}  // namespace recgrad::cuda
