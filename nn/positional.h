// Positional encodings: sinusoidal (fixed) and rotary (RoPE). Learned positions are an nn::Embedding over
// position indices (SASRec's), so they need no class of their own.
#pragma once

#include <cstdint>

#include "core/factory.h"
#include "core/tensor.h"

namespace recgrad::nn {

/// The fixed encoding of "Attention Is All You Need", [length, dim] (dim even):
///   pe[p, 2i] = sin(p / 10000^(2i / dim)),  pe[p, 2i + 1] = cos(p / 10000^(2i / dim)).
Tensor sinusoidal_positions(std::int64_t length, std::int64_t dim, TensorOptions options = {});

/// Rotary position embedding (RoPE) in the "rotate half" layout of Qwen/LLaMA: with
/// inv_freq_i = theta^(-2i / D) for i < D/2 and angle(p, i) = p * inv_freq_i, a head vector x at position p
/// becomes
///   x * cos(angle) + rotate_half(x) * sin(angle),   rotate_half(x) = [-x[D/2:], x[:D/2]],
/// where cos/sin repeat their D/2 values twice. A rotation, so <q_p, k_s> depends only on p - s.
class RotaryEmbedding {
 public:
  explicit RotaryEmbedding(std::int64_t head_dim, double theta = 10000.0);

  /// x [B, H, T, D] at positions offset, offset + 1, ... -> the rotated x (differentiable in x).
  Tensor apply(const Tensor& x, std::int64_t position_offset = 0) const;

  std::int64_t head_dim;
  double theta;
};

}  // namespace recgrad::nn
