#include "autograd/ops/flash_attention.h"

#include <limits>

#include "autograd/function.h"
#include "core/ops/copy.h"

namespace recgrad {

Tensor flash_attention(const Tensor& q, const Tensor& k, const Tensor& v, const raw::FlashAttentionOptions& options) {
  // Dense copies (when the inputs are views) are what the kernels read and what the backward keeps.
  const Tensor dense_q = raw::contiguous(q), dense_k = raw::contiguous(k), dense_v = raw::contiguous(v);
  raw::FlashAttentionForward forward = raw::flash_attention_forward(dense_q, dense_k, dense_v, options);
  return record("flash_attention", forward.out, {q, k, v},
                [saved_q = SavedTensor(dense_q), saved_k = SavedTensor(dense_k), saved_v = SavedTensor(dense_v),
                 saved_out = SavedTensor(forward.out), lse = forward.lse, options](const Tensor& grad_out) {
                  const char* op = "flash_attention";
                  raw::FlashAttentionGrads grads =
                      raw::flash_attention_backward(grad_out, saved_q.unpack(op), saved_k.unpack(op),
                                                    saved_v.unpack(op), saved_out.unpack(op), lse, options);
                  return std::vector<Tensor>{grads.q, grads.k, grads.v};
                });
}

bool flash_attention_supports(const Tensor& q, const Tensor& k, const Tensor& v) {
  if (!q.defined() || !k.defined() || !v.defined()) return false;
  if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4) return false;
  if (!q.device().is_cuda() || k.device() != q.device() || v.device() != q.device()) return false;
  if (q.dtype() != DType::f32 || k.dtype() != DType::f32 || v.dtype() != DType::f32) return false;
  const std::int64_t max_dim = raw::kFlashAttentionMaxHeadDim, max_length = std::numeric_limits<int>::max();
  const bool shapes_fit = k.size(0) == q.size(0) && v.size(0) == q.size(0) && v.size(1) == k.size(1) &&
                          v.size(2) == k.size(2) && k.size(3) == q.size(3) && k.size(1) > 0 &&
                          q.size(1) % k.size(1) == 0;
  return shapes_fit && q.size(3) >= 1 && q.size(3) <= max_dim && v.size(3) >= 1 && v.size(3) <= max_dim &&
         q.size(2) <= max_length && k.size(2) <= max_length;
}

}  // namespace recgrad
