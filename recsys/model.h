// The interface every sequential recommender of the zoo implements (SASRec, GRU4Rec, Caser): encode a
// left-padded item history, score items, and the two training losses of the literature. Item ids follow
// recsys/item_ids.h: 1..num_items, 0 = padding, in histories, targets and negatives alike.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "datasets/sequence_dataset.h"
#include "nn/module.h"
#include "optim/routing.h"

namespace recgrad::recsys {

/// One batch of next-item prediction. Histories are LEFT-padded: the last column holds the most recent item.
struct SequenceBatch {
  Tensor history;    // [B, L] i64: item ids, 0 = padding; L = the model's history_length()
  Tensor targets;    // [B] i64: the next item's id
  Tensor users;      // [B] i64: user index (only models with user embeddings read it)
  Tensor negatives;  // [B, N] i64 item ids: sampled negatives, only for LossKind::sampled_bce
};

/// full_softmax: cross-entropy of the target against all items (the default).
/// sampled_bce: binary cross-entropy of the target (label 1) and of the sampled negatives (label 0), the
/// original SASRec objective and the published MuonRec recipe:
///   loss = -mean_b [ log sigmoid(s_b,target) + mean_n log(1 - sigmoid(s_b,neg_n)) ].
/// sampled_bce_pooled: the same terms averaged over all B (1 + N) logits together, as MuonRec's code does
/// (BCEWithLogits on the concatenation [positives; negatives]):
///   loss = -[ sum_b log sigmoid(s_b,target) + sum_b,n log(1 - sigmoid(s_b,neg_n)) ] / (B (1 + N)),
/// which for N = 1 is half of sampled_bce.
enum class LossKind { full_softmax, sampled_bce, sampled_bce_pooled };

/// "full_softmax", "sampled_bce" or "sampled_bce_pooled".
inline const char* loss_name(LossKind kind) {
  return kind == LossKind::full_softmax ? "full_softmax"
                                        : (kind == LossKind::sampled_bce ? "sampled_bce" : "sampled_bce_pooled");
}

class SequentialRecommender : public nn::Module {
 public:
  /// [B, num_items] scores of every item for each history (higher = more likely next); column c is item c + 1
  /// (score_column in recsys/item_ids.h).
  virtual Tensor score_all(const SequenceBatch& batch) const = 0;
  /// [B, K] scores of the given items [B, K] (item ids).
  virtual Tensor score_items(const SequenceBatch& batch, const Tensor& items) const = 0;
  /// The training loss of a batch (a scalar): for the sequential models, `kind` computed from their scores;
  /// the generative models override it with their own objective.
  virtual Tensor loss(const SequenceBatch& batch, LossKind kind) const;
  /// Called by the trainer before it evaluates a split, for models that rank each split differently (TIGER's
  /// beam widths); the sequential models ignore it.
  virtual void set_evaluation_split(datasets::SplitName split) { (void)split; }
  /// True for the generative recommenders (they name items by semantic IDs and train on token cross-entropy).
  virtual bool is_generative() const { return false; }
  /// How many validation rows the trainer evaluates (0 = all): a model whose ranking is costly (beam search)
  /// validates on a fixed, evenly spread subset of this many rows (recsys/trainer.h, spread_rows).
  virtual std::int64_t validation_rows() const { return 0; }
  /// The roles the model declares for the optimizer routing (optim/routing.h): its embedding tables, its
  /// output head and the layers that read the raw input; the routing classifies the rest by name and shape.
  ParameterRoles parameter_roles() const { return declared_roles_; }
  /// The model's name ("SASRec", ...) and a one-line description of its configuration.
  virtual std::string name() const = 0;
  virtual std::string describe() const = 0;
  /// The history window L: how many of the most recent items the model reads. The trainer cuts batches to it,
  /// so model and batcher cannot disagree.
  virtual std::int64_t history_length() const = 0;

  std::int64_t num_items = 0;

 protected:
  ParameterRoles declared_roles_;
};

}  // namespace recgrad::recsys
