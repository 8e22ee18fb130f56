#include "nn/linear.h"

#include <cmath>

#include "autograd/ops/matmul.h"
#include "core/factory.h"
#include "nn/init.h"

namespace recgrad::nn {

Linear::Linear(std::int64_t in_features, std::int64_t out_features, bool bias)
    : in_features(in_features), out_features(out_features) {
  RG_CHECK(in_features > 0 && out_features > 0, "Linear: in_features and out_features must be positive, got ",
           in_features, " and ", out_features);
  weight = register_parameter("weight", empty({out_features, in_features}));
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
    this->bias = register_parameter("bias", empty({out_features}));
    init::uniform_(this->bias, -bound, bound);
  }
}

Tensor Linear::forward(const Tensor& x) const { return recgrad::linear(x, weight, bias); }

}  // namespace recgrad::nn
