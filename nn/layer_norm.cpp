#include "nn/layer_norm.h"

#include "autograd/ops/norm.h"
#include "core/factory.h"

namespace recgrad::nn {

LayerNorm::LayerNorm(Shape normalized_shape, double eps, bool elementwise_affine)
    : normalized_shape(std::move(normalized_shape)), eps(eps) {
  RG_CHECK(!this->normalized_shape.empty(), "LayerNorm: normalized_shape must not be empty");
  for (std::int64_t extent : this->normalized_shape) {
    RG_CHECK(extent > 0, "LayerNorm: normalized_shape ", this->normalized_shape, " must have positive extents");
  }
  RG_CHECK(eps >= 0.0, "LayerNorm: eps must be non-negative, got ", eps);
  if (elementwise_affine) {
    weight = register_parameter("weight", ones(this->normalized_shape));
    bias = register_parameter("bias", zeros(this->normalized_shape));
  }
}

Tensor LayerNorm::forward(const Tensor& x) const { return recgrad::layer_norm(x, normalized_shape, weight, bias, eps); }

}  // namespace recgrad::nn
