#include "autograd/ops/softmax.h"

#include "autograd/function.h"
#include "core/ops/softmax.h"

namespace recgrad {

Tensor softmax(const Tensor& x, std::int64_t dim) {
  const Tensor y = raw::softmax(x, dim);
  return record("softmax", y, {x}, [saved_y = SavedTensor(y), dim](const Tensor& g) -> std::vector<Tensor> {
    return {raw::softmax_backward(saved_y.unpack("softmax"), g, dim)};
  });
}

Tensor log_softmax(const Tensor& x, std::int64_t dim) {
  const Tensor y = raw::log_softmax(x, dim);
  return record("log_softmax", y, {x}, [saved_y = SavedTensor(y), dim](const Tensor& g) -> std::vector<Tensor> {
    return {raw::log_softmax_backward(saved_y.unpack("log_softmax"), g, dim)};
  });
}

}  // namespace recgrad
