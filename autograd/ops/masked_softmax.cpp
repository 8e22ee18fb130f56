#include "autograd/ops/masked_softmax.h"

#include "autograd/function.h"
#include "core/ops/masked_softmax.h"
#include "core/ops/softmax.h"

namespace recgrad {

Tensor masked_softmax(const Tensor& x, const Tensor& mask) {
  const Tensor y = raw::masked_softmax(x, mask);
  return record("masked_softmax", y, {x}, [saved_y = SavedTensor(y)](const Tensor& g) -> std::vector<Tensor> {
    return {raw::softmax_backward(saved_y.unpack("masked_softmax"), g, -1)};
  });
}

}  // namespace recgrad
