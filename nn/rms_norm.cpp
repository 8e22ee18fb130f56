#include "nn/rms_norm.h"

#include "autograd/ops/norm.h"
#include "core/factory.h"

namespace recgrad::nn {

RMSNorm::RMSNorm(Shape normalized_shape, double eps) : normalized_shape(std::move(normalized_shape)), eps(eps) {
  RG_CHECK(!this->normalized_shape.empty(), "RMSNorm: normalized_shape must not be empty");
  for (std::int64_t extent : this->normalized_shape) {
    RG_CHECK(extent > 0, "RMSNorm: normalized_shape ", this->normalized_shape, " must have positive extents");
  }
  RG_CHECK(eps >= 0.0, "RMSNorm: eps must be non-negative, got ", eps);
  weight = register_parameter("weight", ones(this->normalized_shape));
}

Tensor RMSNorm::forward(const Tensor& x) const { return recgrad::rms_norm(x, normalized_shape, weight, eps); }

}  // namespace recgrad::nn
