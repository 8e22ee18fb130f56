#include "core/ops/loss.h"

#include <cmath>
#include <limits>

#include "core/cpu/loss.h"
#include "core/cuda/loss.h"
#include "core/ops/copy.h"
#include "core/ops/view.h"

namespace recgrad::raw {

namespace {

void check_cross_entropy_inputs(const Tensor& logits, const Tensor& targets, double label_smoothing) {
  RG_CHECK(logits.dim() == 2, "cross_entropy: expected logits of shape [N, C], got ", logits.dtype(), " ",
           logits.shape(), " (flatten [B, T, C] to [B * T, C] and the targets to [B * T])");
  RG_CHECK(is_floating(logits.dtype()), "cross_entropy: logits must be f32 or f64, got ", logits.dtype(), " ",
           logits.shape());
  RG_CHECK(is_integral(targets.dtype()), "cross_entropy: targets must be class indices (i64 or i32), got ",
           targets.dtype(), " ", targets.shape());
  RG_CHECK(targets.dim() == 1 && targets.shape()[0] == logits.shape()[0], "cross_entropy: targets ", targets.dtype(),
           " ", targets.shape(), " do not match logits ", logits.dtype(), " ", logits.shape(),
           " (expected targets of shape [", logits.shape()[0], "])");
  RG_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0, "cross_entropy: label_smoothing must be in [0, 1], got ",
           label_smoothing);
  RG_CHECK(logits.device() == targets.device(), "cross_entropy: logits on ", logits.device(), " but targets on ",
           targets.device());
}

// The [N, C] logits with unit column stride: themselves (any row stride, e.g. a slice of a wider matrix, is
// read in place) or a dense copy. What the CUDA kernels read (the CPU kernels read dense logits).
Tensor unit_columns(const Tensor& logits) {
  return logits.strides()[1] == 1 || logits.shape()[1] <= 1 ? logits : raw::contiguous(logits);
}

}  // namespace

CrossEntropyRows cross_entropy_rows(const Tensor& logits, const Tensor& targets, std::int64_t ignore_index,
                                    double label_smoothing) {
  check_cross_entropy_inputs(logits, targets, label_smoothing);
  if (logits.is_cuda()) return cuda::cross_entropy_rows(unit_columns(logits), targets, ignore_index, label_smoothing);
  return cpu::cross_entropy_rows(raw::contiguous(logits), targets, ignore_index, label_smoothing);
}

Tensor cross_entropy_backward(const Tensor& logits, const Tensor& targets, const CrossEntropyRows& rows,
                              const Tensor& row_grad, double scale, std::int64_t ignore_index, double label_smoothing) {
  if (logits.is_cuda()) {
    const Tensor weight = row_grad.defined() ? raw::to_dtype(row_grad, logits.dtype()) : Tensor();
    return cuda::cross_entropy_backward(raw::contiguous(logits), targets, rows, weight, scale, ignore_index,
                                        label_smoothing);
  }
  return cpu::cross_entropy_backward(raw::contiguous(logits), targets, rows, row_grad, scale, ignore_index,
                                     label_smoothing);
}

namespace {
void check_binary_cross_entropy(const Tensor& logits, const Tensor& targets) {
  RG_CHECK(is_floating(logits.dtype()) && logits.dtype() == targets.dtype(),
           "binary_cross_entropy_with_logits: logits and targets must share a floating dtype, got ", logits.dtype(),
           " ", logits.shape(), " and ", targets.dtype(), " ", targets.shape());
  RG_CHECK(logits.shape() == targets.shape(), "binary_cross_entropy_with_logits: targets ", targets.shape(),
           " must have the logits' shape ", logits.shape());
}

}  // namespace

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets) {
  check_binary_cross_entropy(logits, targets);
  if (logits.is_cuda()) return cuda::binary_cross_entropy_with_logits(logits, targets);
  return cpu::binary_cross_entropy_with_logits(logits, targets);
}

BinaryCrossEntropyGrads binary_cross_entropy_with_logits_backward(const Tensor& logits, const Tensor& targets,
                                                                  const Tensor& grad, double scale, bool want_targets) {
  const Tensor g = raw::expand(grad, logits.shape());
  if (logits.is_cuda()) {
    return cuda::binary_cross_entropy_with_logits_backward(logits, targets, raw::to_dtype(g, logits.dtype()), scale,
                                                           want_targets);
  }
  return cpu::binary_cross_entropy_with_logits_backward(logits, targets, g, scale, want_targets);
}

}  // namespace recgrad::raw
