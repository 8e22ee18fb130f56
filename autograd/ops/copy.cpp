#include "autograd/ops/copy.h"

#include "autograd/function.h"
#include "core/ops/copy.h"

namespace recgrad {

Tensor to_device(const Tensor& x, Device device) {
  if (x.device() == device) return x;
  return record("to_device", raw::to_device(x, device), {x},
                [from = x.device()](const Tensor& g) -> std::vector<Tensor> { return {to_device(g, from)}; });
}

}  // namespace recgrad
