#include "core/ops/flash_attention.h"

#include <limits>

#include "core/cuda/flash_attention.h"
#include "core/ops/copy.h"

namespace recgrad::raw {
namespace {

constexpr std::int64_t kMaxLength = std::numeric_limits<int>::max();

// Checks q [B, H, Tq, D], k [B, Hkv, Tk, D], v [B, Hkv, Tk, Dv] (f32, one CUDA device, H a multiple of
// Hkv, D and Dv in 1..128) and the padding mask.
void check_inputs(const Tensor& q, const Tensor& k, const Tensor& v, const FlashAttentionOptions& options,
                  const char* op) {
  RG_CHECK(q.defined() && k.defined() && v.defined(), op, ": q, k and v must be defined");
  RG_CHECK(q.device().is_cuda(), op, ": CUDA only (q is on ", q.device(),
           "); on the CPU scaled_dot_product_attention runs the composed attention");
  RG_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, op,
           ": expected q [B, H, Tq, D], k [B, Hkv, Tk, D], v [B, Hkv, Tk, Dv], got ", q.shape(), ", ", k.shape(), ", ",
           v.shape());
  RG_CHECK(k.device() == q.device() && v.device() == q.device(), op, ": q, k, v must be on one device, got ",
           q.device(), ", ", k.device(), ", ", v.device());
  RG_CHECK(q.dtype() == DType::f32 && k.dtype() == DType::f32 && v.dtype() == DType::f32, op,
           ": the fused kernels compute in f32, got q ", q.dtype(), ", k ", k.dtype(), ", v ", v.dtype());
  const std::int64_t batch = q.size(0), heads = q.size(1), kv_heads = k.size(1), key_len = k.size(2);
  RG_CHECK(k.size(0) == batch && v.size(0) == batch && v.size(1) == kv_heads && v.size(2) == key_len &&
               k.size(3) == q.size(3) && kv_heads > 0 && heads % kv_heads == 0,
           op, ": shapes do not fit: q ", q.shape(), ", k ", k.shape(), ", v ", v.shape(),
           " (batch and key length must agree, k's head dim must equal q's, and H must be a multiple of Hkv)");
  RG_CHECK(q.size(3) >= 1 && q.size(3) <= kFlashAttentionMaxHeadDim && v.size(3) >= 1 &&
               v.size(3) <= kFlashAttentionMaxHeadDim,
           op, ": head dims must be in 1..", kFlashAttentionMaxHeadDim, ", got q ", q.shape(), " and v ", v.shape());
  RG_CHECK(heads <= kMaxLength && q.size(2) <= kMaxLength && key_len <= kMaxLength, op,
           ": sizes beyond 2^31 are not supported: q ", q.shape(), ", k ", k.shape());
  if (options.key_padding_mask.defined()) {
    const Tensor& mask = options.key_padding_mask;
    RG_CHECK(mask.dtype() == DType::b8 && mask.shape() == Shape({batch, key_len}) && mask.device() == q.device(), op,
             ": key_padding_mask must be b8 [B, Tk] = [", batch, ", ", key_len, "] on ", q.device(), ", got ",
             mask.dtype(), " ", mask.shape(), " on ", mask.device());
  }
}

// The options with a dense padding mask (the kernels index it as [B, Tk]).
FlashAttentionOptions dense_options(const FlashAttentionOptions& options) {
  FlashAttentionOptions dense = options;
  if (dense.key_padding_mask.defined()) dense.key_padding_mask = contiguous(dense.key_padding_mask);
  return dense;
}

}  // namespace

FlashAttentionForward flash_attention_forward(const Tensor& q, const Tensor& k, const Tensor& v,
                                              const FlashAttentionOptions& options) {
  check_inputs(q, k, v, options, "flash_attention");
  const std::int64_t batch = q.size(0), heads = q.size(1), query_len = q.size(2);
  FlashAttentionForward result{Tensor::empty({batch, heads, query_len, v.size(3)}, DType::f32, q.device()),
                               Tensor::empty({batch, heads, query_len}, DType::f32, q.device())};
  cuda::flash_attention_forward(contiguous(q), contiguous(k), contiguous(v), dense_options(options), result.out,
                                result.lse);
  return result;
}

FlashAttentionGrads flash_attention_backward(const Tensor& grad_out, const Tensor& q, const Tensor& k, const Tensor& v,
                                             const Tensor& out, const Tensor& lse,
                                             const FlashAttentionOptions& options) {
  const char* op = "flash_attention_backward";
  check_inputs(q, k, v, options, op);
  const Shape out_shape{q.size(0), q.size(1), q.size(2), v.size(3)};
  for (const Tensor* t : {&grad_out, &out}) {
    RG_CHECK(t->defined() && t->shape() == out_shape && t->dtype() == DType::f32 && t->device() == q.device(), op,
             ": grad_out and out must be f32 ", out_shape, " on ", q.device(), ", got ",
             t->defined() ? t->shape() : Shape{}, " ", t->defined() ? t->dtype() : DType::f32);
  }
  RG_CHECK(lse.defined() && lse.shape() == Shape({q.size(0), q.size(1), q.size(2)}) && lse.dtype() == DType::f32 &&
               lse.device() == q.device(),
           op, ": lse must be the forward's f32 [B, H, Tq] for q ", q.shape(), ", got ",
           lse.defined() ? lse.shape() : Shape{});
  FlashAttentionGrads grads{Tensor::empty(q.shape(), DType::f32, q.device()),
                            Tensor::empty(k.shape(), DType::f32, q.device()),
                            Tensor::empty(v.shape(), DType::f32, q.device())};
  cuda::flash_attention_backward(contiguous(grad_out), contiguous(q), contiguous(k), contiguous(v), contiguous(out),
                                 contiguous(lse), dense_options(options), grads.q, grads.k, grads.v);
  return grads;
}

}  // namespace recgrad::raw
