#include "core/ops/masked_softmax.h"

#include <limits>

#include "core/cpu/loops.h"
#include "core/cpu/parallel.h"
#include "core/cpu/row_softmax.h"
#include "core/ops/copy.h"
#include "core/ops/view.h"

#if RECGRAD_WITH_CUDA
#include "core/cuda/masked_softmax.h"
#endif

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
#if RECGRAD_WITH_CUDA
  if (x.device().is_cuda()) {
    cuda::masked_softmax(out, input, raw::contiguous(expanded_mask), rows, n);
    return out;
  }
#endif
  const std::int64_t mask_step = expanded_mask.strides().back();
  const bool* mask_data = static_cast<const bool*>(expanded_mask.raw_data());
  visit_floating(x.dtype(), "masked_softmax", [&]<typename T>(T) {
    const T* in = input.data<T>();
    T* y = out.data<T>();
    cpu::parallel_for(rows, 4 * n, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t r = begin; r < end; ++r) {
        const bool* m = mask_data + cpu::row_offset(r, x.shape(), expanded_mask.strides());
        const T* row = in + r * n;
        T* out_row = y + r * n;
        for (std::int64_t j = 0; j < n; ++j) {
          out_row[j] = m[j * mask_step] ? -std::numeric_limits<T>::infinity() : row[j];
        }
        const T top = cpu::row_max(out_row, n);
        if (top == -std::numeric_limits<T>::infinity()) {  // nothing to attend to (or all scores -inf)
          for (std::int64_t j = 0; j < n; ++j) out_row[j] = T(0);
          continue;
        }
        const T inv_total = static_cast<T>(1.0 / cpu::row_sum_exp<true>(out_row, n, top, out_row));
        for (std::int64_t j = 0; j < n; ++j) out_row[j] = m[j * mask_step] ? T(0) : out_row[j] * inv_total;
      }
    });
  });
  return out;
}

}  // namespace recgrad::raw
