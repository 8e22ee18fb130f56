// The flash_attention launchers of a build without the CUDA backend (core/cuda/built_without_cuda.h).
#include "core/cuda/flash_attention.h"
#include "core/cuda/built_without_cuda.h"

namespace recgrad::cuda {

void flash_attention_forward(const Tensor& q, const Tensor& /*k*/, const Tensor& /*v*/,
                             const raw::FlashAttentionOptions& /*options*/, const Tensor& /*out*/,
                             const Tensor& /*lse*/) {
  throw_built_without_cuda(detail::concat("flash_attention_forward", " on ", q.device()));
}

void flash_attention_backward(const Tensor& grad_out, const Tensor& /*q*/, const Tensor& /*k*/, const Tensor& /*v*/,
                              const Tensor& /*out*/, const Tensor& /*lse*/,
                              const raw::FlashAttentionOptions& /*options*/, const Tensor& /*grad_q*/,
                              const Tensor& /*grad_k*/, const Tensor& /*grad_v*/) {
  throw_built_without_cuda(detail::concat("flash_attention_backward", " on ", grad_out.device()));
}

}  // namespace recgrad::cuda
