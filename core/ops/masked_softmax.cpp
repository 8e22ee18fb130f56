#include "core/ops/masked_softmax.h"

#include "core/cpu/masked_softmax.h"
#include "core/cuda/masked_softmax.h"
#include "core/ops/copy.h"
#include "core/ops/view.h"

namespace recgrad::raw {

Tensor masked_softmax(const Tensor& x, const Tensor& mask) {
  RG_CHECK(is_floating(x.dtype()) && x.dim() >= 1,
           "masked_softmax: expected a floating tensor with at least one dim, got ", x.dtype(), " of shape ",
           x.shape());
  RG_CHECK(mask.dtype() == DType::b8 && mask.device() == x.device(), "masked_softmax: the mask must be a b8 tensor on ",
           x.device(), ", got ", mask.dtype(), " on ", mask.device());
  const Tensor input = raw::contiguous(x);
  const Tensor expanded_mask = raw::expand(mask, x.shape());  // stride 0 where the mask broadcasts
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  const std::int64_t n = x.shape().back();
  const std::int64_t rows = n == 0 ? 0 : x.numel() / n;
  if (x.is_cuda()) {
    cuda::masked_softmax(out, input, raw::contiguous(expanded_mask), rows, n);
  } else {
    cpu::masked_softmax(out, input, expanded_mask, rows, n);
  }
  return out;
}

}  // namespace recgrad::raw
