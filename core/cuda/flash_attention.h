// The fused attention kernels (core/ops/flash_attention.h has the formulas) on a CUDA device. The raw
// ops check the arguments and allocate; these take dense (contiguous) f32 tensors on one GPU:
// q [B, H, Tq, D], k [B, Hkv, Tk, D], v [B, Hkv, Tk, Dv], D and Dv in 1..128, and write every element
// of their outputs.
#pragma once

#include "core/plans/flash_attention.h"
#include "core/tensor.h"

namespace recgrad::cuda {

/// out [B, H, Tq, Dv] = softmax(scale q k^T, masked) v, and lse [B, H, Tq] (-inf on rows with no visible key).
void flash_attention_forward(const Tensor& q, const Tensor& k, const Tensor& v,
                             const raw::FlashAttentionOptions& options, const Tensor& out, const Tensor& lse);

/// grad_q [B, H, Tq, D], grad_k [B, Hkv, Tk, D], grad_v [B, Hkv, Tk, Dv] from grad_out [B, H, Tq, Dv] and
/// the forward's out and lse. Deterministic: no atomics, every sum in a fixed order.
void flash_attention_backward(const Tensor& grad_out, const Tensor& q, const Tensor& k, const Tensor& v,
                              const Tensor& out, const Tensor& lse, const raw::FlashAttentionOptions& options,
                              const Tensor& grad_q, const Tensor& grad_k, const Tensor& grad_v);

}  // namespace recgrad::cuda
