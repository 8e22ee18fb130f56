#include "nn/dropout.h"

#include "autograd/ops/random.h"

namespace recgrad::nn {

Dropout::Dropout(double p) : p(p) {
  RG_CHECK(p >= 0.0 && p <= 1.0, "Dropout: probability p must be in [0, 1], got ", p);
}

Tensor Dropout::forward(const Tensor& x) const { return recgrad::dropout(x, p, is_training()); }

}  // namespace recgrad::nn
