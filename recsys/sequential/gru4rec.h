// GRU4Rec (Hidasi et al., "Session-based Recommendations with Recurrent Neural Networks", ICLR 2016), in the
// form of RecBole's implementation that the MuonRec study trains:
//   x_t = dropout(E_item[i_t]);  h = GRU(x) over the history (padding steps leave the state unchanged)
//   u = dense(h_last);  score(item i) = <u, E_item[i]>  (tied item table; recsys/item_ids.h)
#pragma once

#include <memory>

#include "nn/dropout.h"
#include "nn/embedding.h"
#include "nn/gru.h"
#include "nn/linear.h"
#include "recsys/model.h"
#include "recsys/zoo.h"

namespace recgrad::recsys {

/// Defaults: RecBole's gru4rec.yaml (embedding_size 64, hidden_size 128, num_layers 1, dropout_prob 0.3,
/// xavier-uniform initialisation of the embedding and GRU weights); max_length 10 is the history length of the
/// MiniOneRec Amazon release (the GRU reads the last max_length items).
struct GRU4RecOptions {
  std::int64_t embedding = 64;
  std::int64_t hidden = 128;
  std::int64_t layers = 1;
  double dropout = 0.3;
  std::int64_t max_length = 10;
};

class GRU4Rec : public SequentialRecommender {
 public:
  using Options = GRU4RecOptions;
  static constexpr const char* kZooName = "gru4rec";
  static constexpr const char* kSummary = "GRU4Rec: a GRU over the history (Hidasi et al. 2016)";
  /// The options the zoo parses and prints, each with a one-line meaning.
  static std::vector<OptionField<GRU4RecOptions>> option_fields();
  static std::shared_ptr<GRU4Rec> create(const DatasetSizes& sizes, const GRU4RecOptions& options) {
    return std::make_shared<GRU4Rec>(sizes.num_items, options);
  }

  GRU4Rec(std::int64_t num_items, GRU4RecOptions options = {});

  /// [B, embedding]: dense(GRU state after the last item of each history).
  Tensor encode(const SequenceBatch& batch) const;
  Tensor score_all(const SequenceBatch& batch) const override;
  Tensor score_items(const SequenceBatch& batch, const Tensor& items) const override;
  std::string name() const override { return "GRU4Rec"; }
  std::string describe() const override;
  std::int64_t history_length() const override { return options.max_length; }

  GRU4RecOptions options;
  std::shared_ptr<nn::Embedding> item_embedding;  // [num_items + 1, embedding], row 0 = padding
  std::shared_ptr<nn::Dropout> embedding_dropout;
  std::shared_ptr<nn::GRU> gru;
  std::shared_ptr<nn::Linear> dense;  // hidden -> embedding
};

}  // namespace recgrad::recsys
