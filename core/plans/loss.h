// What the loss kernels return (core/ops/loss.h), shared with the kernels of both devices.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace recgrad::raw {

/// What the cross-entropy forward keeps for backward, per row of [N, C] logits.
struct CrossEntropyRows {
  Tensor losses;             // [N]: the loss of each row, 0 where the target is ignore_index
  Tensor row_max;            // [N]: max_j logits[i, j]
  Tensor row_log_sum;        // [N]: log(sum_j exp(logits[i, j] - row_max[i]))
  std::int64_t counted = 0;  // rows whose target is not ignore_index
};

struct BinaryCrossEntropyGrads {
  Tensor logits;
  Tensor targets;
};

}  // namespace recgrad::raw
