#include "recsys/model.h"

#include "autograd/ops.h"
#include "core/factory.h"
#include "recsys/item_ids.h"

namespace recgrad::recsys {

Tensor SequentialRecommender::loss(const SequenceBatch& batch, LossKind kind) const {
  RG_CHECK(batch.history.defined() && batch.targets.defined(), name(), ".loss: the batch needs history and targets");
  if (kind == LossKind::full_softmax) return cross_entropy(score_all(batch), score_column(batch.targets));
  RG_CHECK(batch.negatives.defined() && batch.negatives.dim() == 2 && batch.negatives.size(0) == batch.targets.size(0),
           name(), ".loss: sampled_bce needs negatives [B, N] with B = ", batch.targets.size(0), ", got ",
           batch.negatives.defined() ? batch.negatives.shape() : Shape{});
  const std::int64_t b = batch.targets.size(0), n = batch.negatives.size(1);
  const Tensor items = cat({reshape(batch.targets, {b, 1}), batch.negatives}, 1);  // [B, 1 + N]
  const Tensor scores = score_items(batch, items);
  const Tensor positive = narrow(scores, 1, 0, 1), negative = narrow(scores, 1, 1, n);
  const Tensor positive_loss = binary_cross_entropy_with_logits(positive, ones_like(positive));
  const Tensor negative_loss = binary_cross_entropy_with_logits(negative, zeros_like(negative));
  if (kind == LossKind::sampled_bce_pooled) {  // (B l_pos + B N l_neg) / (B (1 + N))
    const double n_negatives = static_cast<double>(n);
    return mul(add(positive_loss, mul(negative_loss, n_negatives)), 1.0 / (1.0 + n_negatives));
  }
  return add(positive_loss, negative_loss);
}

}  // namespace recgrad::recsys
