#include "autograd/ops/loss.h"

#include <limits>

#include "autograd/function.h"
#include "autograd/ops/binary.h"
#include "autograd/ops/reduce.h"
#include "core/factory.h"
#include "core/ops/binary.h"
#include "core/ops/loss.h"
#include "core/ops/reduce.h"
#include "core/ops/view.h"

namespace recgrad {

namespace {
// A 0-d tensor holding total / count (NaN when count is 0, like torch). On a GPU the division stays on the
// device (no host round trip); on the CPU it is done in double, then rounded once.
Tensor divided(const Tensor& total, double count) {
  if (total.device().is_cuda()) return raw::div(total, scalar_tensor(count, {total.dtype(), total.device()}));
  const double value = total.item<double>() / count;
  return scalar_tensor(value, {total.dtype(), total.device()});
}
}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, const CrossEntropyOptions& options) {
  raw::CrossEntropyRows rows = raw::cross_entropy_rows(logits, targets, options.ignore_index, options.label_smoothing);
  Tensor out;
  switch (options.reduction) {
    case Reduction::None:
      out = rows.losses;
      break;
    case Reduction::Sum:
      out = raw::sum(rows.losses);
      break;
    case Reduction::Mean:
      out = divided(raw::sum(rows.losses), static_cast<double>(rows.counted));
      break;
  }
  const Reduction reduction = options.reduction;
  return record("cross_entropy", out, {logits},
                [saved_logits = SavedTensor(logits), saved_targets = SavedTensor(targets), rows = std::move(rows),
                 reduction, options](const Tensor& g) -> std::vector<Tensor> {
                  const Tensor x = saved_logits.unpack("cross_entropy");
                  const Tensor t = saved_targets.unpack("cross_entropy");
                  Tensor row_grad;
                  double scale = 1.0;
                  if (reduction == Reduction::None) {
                    row_grad = g;
                  } else if (g.device().is_cuda()) {  // the scalar gradient stays on the device: a stride-0 row
                    row_grad = raw::expand(raw::reshape(g, {1}), {rows.losses.size(0)});
                    if (reduction == Reduction::Mean) scale = 1.0 / static_cast<double>(rows.counted);
                  } else {
                    scale = g.item<double>();
                    if (reduction == Reduction::Mean) scale /= static_cast<double>(rows.counted);
                  }
                  return {raw::cross_entropy_backward(x, t, rows, row_grad, scale, options.ignore_index,
                                                      options.label_smoothing)};
                });
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets, Reduction reduction) {
  const Tensor losses = raw::binary_cross_entropy_with_logits(logits, targets);
  const double count = static_cast<double>(losses.numel());
  Tensor out;
  switch (reduction) {
    case Reduction::None:
      out = losses;
      break;
    case Reduction::Sum:
      out = raw::sum(losses);
      break;
    case Reduction::Mean:
      out = divided(raw::sum(losses), count);
      break;
  }
  return record("binary_cross_entropy_with_logits", out, {logits, targets},
                [saved_logits = SavedTensor(logits), saved_targets = SavedTensor(targets), reduction, count,
                 want_targets = targets.requires_grad()](const Tensor& g) -> std::vector<Tensor> {
                  const std::string name = "binary_cross_entropy_with_logits";
                  const double scale = reduction == Reduction::Mean ? 1.0 / count : 1.0;
                  raw::BinaryCrossEntropyGrads grads = raw::binary_cross_entropy_with_logits_backward(
                      saved_logits.unpack(name), saved_targets.unpack(name), g, scale, want_targets);
                  return {grads.logits, grads.targets};
                });
}

Tensor mse_loss(const Tensor& a, const Tensor& b, Reduction reduction) {
  RG_CHECK(is_floating(a.dtype()) && a.dtype() == b.dtype(), "mse_loss: inputs must share a floating dtype, got ",
           a.dtype(), " ", a.shape(), " and ", b.dtype(), " ", b.shape());
  broadcast_shapes(a.shape(), b.shape(), "mse_loss");
  const Tensor difference = sub(a, b);
  const Tensor squares = mul(difference, difference);
  switch (reduction) {
    case Reduction::None:
      return squares;
    case Reduction::Sum:
      return sum(squares);
    case Reduction::Mean:
      break;
  }
  return mean(squares);
}

}  // namespace recgrad
