// Differentiable fused attention on CUDA (the kernels: core/cuda/flash_attention.cu; the formulas:
// core/ops/flash_attention.h). For q [B, H, Tq, D], k [B, Hkv, Tk, D], v [B, Hkv, Tk, Dv]:
//   out = softmax(scale q k^T, masked by causal / key padding) v,  a row with no visible key -> 0.
// The forward keeps q, k, v, out and the per-row logsumexp; the backward recomputes the probabilities
// from them (never storing the [Tq, Tk] scores) and returns dq, dk, dv. It equals the composed
// scaled_dot_product_attention within f32 rounding, which calls it on CUDA when the options allow.
#pragma once

#include "core/ops/flash_attention.h"
#include "core/tensor.h"

namespace recgrad {

/// The fused attention (CUDA, f32, D and Dv <= 128); throws on the CPU.
Tensor flash_attention(const Tensor& q, const Tensor& k, const Tensor& v, const raw::FlashAttentionOptions& options);

/// Whether flash_attention can take these tensors: q, k, v f32 4-D on one CUDA device, head dims in
/// 1..128 and shapes that fit (H a multiple of Hkv). Masks, bias and dropout are the caller's to check.
bool flash_attention_supports(const Tensor& q, const Tensor& k, const Tensor& v);

}  // namespace recgrad
