// The binary launchers of a build without the CUDA backend (core/cuda/built_without_cuda.h).
#include "core/cuda/binary.h"
#include "core/cuda/built_without_cuda.h"

namespace recgrad::cuda {

Tensor binary(std::string_view name, BinaryOp /*op*/, raw::ElementKinds /*kinds*/, const Tensor& /*a*/,
              const Tensor& /*b*/) {
  throw_built_without_cuda(name);
}

Tensor ternary(std::string_view name, TernaryOp /*op*/, const Tensor& /*a*/, const Tensor& /*b*/, const Tensor& /*c*/) {
  throw_built_without_cuda(name);
}

void binary(BinaryOp /*op*/, const Tensor& /*out*/, const Tensor& /*a*/, const Tensor& /*b*/, double /*p0*/) {
  throw_built_without_cuda("binary");
}

void ternary(TernaryOp /*op*/, const Tensor& /*out*/, const Tensor& /*a*/, const Tensor& /*b*/, const Tensor& /*c*/) {
  throw_built_without_cuda("ternary");
}

}  // namespace recgrad::cuda
