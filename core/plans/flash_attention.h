// The options of the fused attention (core/ops/flash_attention.h), shared with its CUDA kernels.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace recgrad::raw {

/// Head dims (D and Dv) the fused kernels support.
constexpr std::int64_t kFlashAttentionMaxHeadDim = 128;

/// The masks and scale of the fused attention (the subset of AttentionOptions it supports).
struct FlashAttentionOptions {
  /// Multiplies q . k (the caller passes 1 / sqrt(D) by default).
  double scale = 1.0;
  /// Key j is masked for query i when j > i + causal_offset.
  bool causal = false;
  std::int64_t causal_offset = 0;
  /// b8 [B, Tk] on q's device, true = padding (masked), or undefined.
  Tensor key_padding_mask;
};

}  // namespace recgrad::raw
