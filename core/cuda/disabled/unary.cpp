// The unary launchers of a build without the CUDA backend (core/cuda/built_without_cuda.h).
#include "core/cuda/unary.h"
#include "core/cuda/built_without_cuda.h"

namespace recgrad::cuda {

Tensor unary(std::string_view name, UnaryOp /*op*/, raw::ElementKinds /*kinds*/, const Tensor& x, double /*p0*/,
             double /*p1*/) {
  throw_built_without_cuda(detail::concat(name, " on ", x.device()));
}

Tensor unary_backward(std::string_view name, BackwardOp /*op*/, const Tensor& g, const Tensor& /*v*/, double /*p0*/,
                      double /*p1*/) {
  throw_built_without_cuda(detail::concat(name, " on ", g.device()));
}

void unary(UnaryOp /*op*/, const Tensor& out, const Tensor& /*x*/, double /*p0*/, double /*p1*/) {
  throw_built_without_cuda(detail::concat("unary", " on ", out.device()));
}

void unary_backward(BackwardOp /*op*/, const Tensor& out, const Tensor& /*g*/, const Tensor& /*v*/, double /*p0*/,
                    double /*p1*/) {
  throw_built_without_cuda(detail::concat("unary_backward", " on ", out.device()));
}

}  // namespace recgrad::cuda
