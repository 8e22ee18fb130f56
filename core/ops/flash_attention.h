// Fused scaled dot-product attention without autograd, CUDA only (FlashAttention-2 style; the kernels are
// in core/cuda/flash_attention.cu). For q [B, H, Tq, D], k [B, Hkv, Tk, D], v [B, Hkv, Tk, Dv]:
//   s_ij = scale * q_i . k_j,  p_ij = exp(s_ij - lse_i) on visible keys (0 on masked ones),
//   lse_i = log sum_{j visible} exp(s_ij),  out_i = sum_j p_ij v_j,
// where key j is masked for query i when j > i + causal_offset (if causal) or key_padding_mask[b, j] is
// true. A query row with no visible key gets out = 0, lse = -inf and zero gradients (never NaN).
// Query head h reads key/value head h / (H / Hkv) (grouped-query attention).
// The backward, with D_i = dout_i . out_i and dp_ij = dout_i . v_j:
//   ds_ij = p_ij (dp_ij - D_i),  dq_i = scale sum_j ds_ij k_j,  dk_j = scale sum_i ds_ij q_i,
//   dv_j = sum_i p_ij dout_i   (dk, dv summed over the query heads that share a kv head).
// The scores matrix [Tq, Tk] is never stored: the forward keeps only out and lse, the backward recomputes p.
// On the CPU these ops throw: the CPU path of attention is the composed one (autograd/ops/attention.h).
#pragma once

#include <cstdint>

#include "core/plans/flash_attention.h"
#include "core/tensor.h"

namespace recgrad::raw {

/// What the forward returns and the backward needs.
struct FlashAttentionForward {
  Tensor out;  // [B, H, Tq, Dv]
  Tensor lse;  // [B, H, Tq] f32: log sum_j exp(s_ij) over visible keys, -inf for rows with none
};

/// Gradients with respect to q, k and v (dense, shaped like them).
struct FlashAttentionGrads {
  Tensor q, k, v;
};

/// The forward (see above). q, k, v: f32 CUDA tensors (any strides), D and Dv at most 128.
FlashAttentionForward flash_attention_forward(const Tensor& q, const Tensor& k, const Tensor& v,
                                              const FlashAttentionOptions& options);

/// The backward for grad_out [B, H, Tq, Dv], given the forward's inputs and results.
FlashAttentionGrads flash_attention_backward(const Tensor& grad_out, const Tensor& q, const Tensor& k, const Tensor& v,
                                             const Tensor& out, const Tensor& lse,
                                             const FlashAttentionOptions& options);

}  // namespace recgrad::raw
