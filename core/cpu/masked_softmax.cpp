#include "core/cpu/masked_softmax.h"

#include <limits>

#include "core/cpu/loops.h"
#include "core/cpu/parallel.h"
#include "core/cpu/row_softmax.h"

namespace recgrad::cpu {

void masked_softmax(const Tensor& out, const Tensor& x, const Tensor& mask, std::int64_t rows, std::int64_t n) {
  const std::int64_t mask_step = mask.strides().back();
  const bool* mask_data = static_cast<const bool*>(mask.raw_data());
  visit_floating(out.dtype(), "masked_softmax", [&]<typename T>(T) {
    const T* in = x.data<T>();
    T* y = out.data<T>();
    cpu::parallel_for(rows, 4 * n, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t r = begin; r < end; ++r) {
        const bool* m = mask_data + cpu::row_offset(r, out.shape(), mask.strides());
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
}

}  // namespace recgrad::cpu
