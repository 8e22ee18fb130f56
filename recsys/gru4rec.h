// GRU4Rec (Hidasi et al., "Session-based Recommendations with Recurrent Neural Networks", ICLR 2016), in the
// form of RecBole's implementation that the MuonRec study trains:
//   x_t = dropout(E_item[i_t]);  h = GRU(x) over the history (padding steps leave the state unchanged)
//   u = dense(h_last);  score(item j) = <u, E_item[j + 1]>  (tied item table)
#pragma once

#include <memory>

#include "nn/dropout.h"
#include "nn/embedding.h"
#include "nn/gru.h"
#include "nn/linear.h"
#include "recsys/model.h"

namespace recgrad::recsys {

/// Defaults: RecBole's gru4rec.yaml (embedding_size 64, hidden_size 128, num_layers 1, dropout_prob 0.3,
/// xavier-uniform initialisation of the embedding and GRU weights).
struct GRU4RecOptions {
  std::int64_t embedding = 64;
  std::int64_t hidden = 128;
  std::int64_t layers = 1;
  double dropout = 0.3;
};

class GRU4Rec : public SequentialRecommender {
 public:
  GRU4Rec(std::int64_t num_items, GRU4RecOptions options = {});

  /// [B, embedding]: dense(GRU state after the last item of each history).
  Tensor encode(const SequenceBatch& batch) const;
  Tensor score_all(const SequenceBatch& batch) const override;
  Tensor score_items(const SequenceBatch& batch, const Tensor& items) const override;
  std::string name() const override { return "GRU4Rec"; }
  std::string describe() const override;

  GRU4RecOptions options;
  std::shared_ptr<nn::Embedding> item_embedding;  // [num_items + 1, embedding], row 0 = padding
  std::shared_ptr<nn::Dropout> embedding_dropout;
  std::shared_ptr<nn::GRU> gru;
  std::shared_ptr<nn::Linear> dense;  // hidden -> embedding
};

}  // namespace recgrad::recsys
