#include "autograd/ops/random.h"

#include "autograd/function.h"
#include "autograd/ops/binary.h"
#include "core/ops/random.h"
#include "core/ops/unary.h"

namespace recgrad {

Tensor dropout(const Tensor& x, double p, bool training, Generator* generator) {
  raw::check_floating(x, "dropout");
  RG_CHECK(p >= 0.0 && p <= 1.0, "dropout: the drop probability must be in [0, 1], got ", p, " (input ", x.dtype(),
           " of shape ", x.shape(), ")");
  if (!training || p == 0.0) return x;
  if (p == 1.0) return mul(x, 0.0);
  raw::DropoutResult result = raw::dropout(x, p, generator != nullptr ? *generator : default_generator());
  if (!any_requires_grad({x})) return result.output;
  return record("dropout", result.output, {x},
                [keep = SavedTensor(result.keep), scale = 1.0 / (1.0 - p)](const Tensor& g) -> std::vector<Tensor> {
                  return {raw::dropout_backward(g, keep.unpack("dropout"), scale)};
                });
}

}  // namespace recgrad
