#include "recsys/history_alignment.h"

#include "autograd/ops.h"
#include "core/factory.h"

namespace recgrad::recsys {

StartAligned align_to_start(const Tensor& history) {
  RG_CHECK(history.dim() == 2 && history.dtype() == DType::i64, "align_to_start: history must be i64 [B, L], got ",
           history.shape());
  const Tensor host = contiguous(to_device(history, Device::cpu()));
  const std::int64_t rows = history.size(0), length = history.size(1);
  Tensor items = zeros({rows, length}, {DType::i64});
  Tensor lengths = zeros({rows}, {DType::i64});
  Tensor last = zeros({rows}, {DType::i64});
  const std::int64_t* in = host.data<std::int64_t>();
  std::int64_t* out = items.data<std::int64_t>();
  std::int64_t* count = lengths.data<std::int64_t>();
  std::int64_t* newest = last.data<std::int64_t>();
  for (std::int64_t b = 0; b < rows; ++b) {
    const std::int64_t* row = in + b * length;
    std::int64_t pad = 0;
    while (pad < length && row[pad] == 0) ++pad;
    for (std::int64_t j = pad; j < length; ++j) {
      RG_CHECK(row[j] != 0, "align_to_start: row ", b, " has padding at column ", j,
               " after its first item (histories are left-padded)");
      out[b * length + (j - pad)] = row[j];
    }
    count[b] = length - pad;
    newest[b] = count[b] > 0 ? count[b] - 1 : 0;
  }
  return {to_device(items, history.device()), to_device(lengths, history.device()), to_device(last, history.device())};
}

}  // namespace recgrad::recsys
