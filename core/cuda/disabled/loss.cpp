// The loss launchers of a build without the CUDA backend (core/cuda/built_without_cuda.h).
#include "core/cuda/loss.h"
#include "core/cuda/built_without_cuda.h"

namespace recgrad::cuda {

raw::CrossEntropyRows cross_entropy_rows(const Tensor& logits, const Tensor& /*targets*/, std::int64_t /*ignore_index*/,
                                         double /*label_smoothing*/) {
  throw_built_without_cuda(detail::concat("cross_entropy_rows", " on ", logits.device()));
}

Tensor cross_entropy_backward(const Tensor& logits, const Tensor& /*targets*/, const raw::CrossEntropyRows& /*rows*/,
                              const Tensor& /*row_grad*/, double /*scale*/, std::int64_t /*ignore_index*/,
                              double /*label_smoothing*/) {
  throw_built_without_cuda(detail::concat("cross_entropy_backward", " on ", logits.device()));
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& /*targets*/) {
  throw_built_without_cuda(detail::concat("binary_cross_entropy_with_logits", " on ", logits.device()));
}

raw::BinaryCrossEntropyGrads binary_cross_entropy_with_logits_backward(const Tensor& logits, const Tensor& /*targets*/,
                                                                       const Tensor& /*grad*/, double /*scale*/,
                                                                       bool /*want_targets*/) {
  throw_built_without_cuda(detail::concat("binary_cross_entropy_with_logits_backward", " on ", logits.device()));
}

}  // namespace recgrad::cuda
