// Left-padded histories (recgrad's batches: the most recent item in the last column) turned into start-aligned
// ones (the oldest item in column 0, padding after the last item), the layout of the MuonRec/MiniOneRec code:
// its SASRec gives the oldest item position 0, and its Caser convolves over rows 0..L-1 with the padding at the
// end, so their MuonRec variants read histories this way to compute what that code computes.
#pragma once

#include "core/tensor.h"

namespace recgrad::recsys {

/// A history batch in the start-aligned layout.
struct StartAligned {
  Tensor items;    // i64 [B, L]: aligned[b, j] = history[b, pad_b + j] for j < length_b, then 0 (padding)
  Tensor lengths;  // i64 [B]: the number of real items of each row
  Tensor last;     // i64 [B]: the column of each row's most recent item, max(length - 1, 0)
};

/// history i64 [B, L], left-padded with 0 -> the same items start-aligned. A row must be padding then items
/// (no 0 after the first real item); throws naming the row otherwise. Computed on the host, returned on
/// history's device.
StartAligned align_to_start(const Tensor& history);

}  // namespace recgrad::recsys
