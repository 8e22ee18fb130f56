// SASRec (Kang & McAuley, "Self-Attentive Sequential Recommendation", ICDM 2018), in the form of RecBole's
// implementation that the MuonRec study trains:
//   e_t = E_item[i_t] + E_pos[t];  h = dropout(LayerNorm(e))
//   h = L post-norm Transformer encoder blocks over h (causal self-attention, padding keys masked, GELU FFN)
//   u = h at the last position (histories are left-padded, so the last column is the most recent item)
//   score(item i) = <u, E_item[i]>  (the item table is tied with the output; recsys/item_ids.h)
#pragma once

#include <memory>

#include "nn/embedding.h"
#include "nn/layer_norm.h"
#include "nn/module_list.h"
#include "nn/transformer.h"
#include "recsys/model.h"
#include "recsys/zoo.h"

namespace recgrad::recsys {

/// Defaults: RecBole's sasrec.yaml (n_layers 2, n_heads 2, hidden_size 64, inner_size 256, dropout 0.5 for
/// hidden and attention, GELU, layer_norm_eps 1e-12, N(0, 0.02) initialisation); max_length 10 is the
/// history length of the MiniOneRec Amazon release.
struct SASRecOptions {
  std::int64_t hidden = 64;
  std::int64_t layers = 2;
  std::int64_t heads = 2;
  std::int64_t inner = 256;
  double dropout = 0.5;
  std::int64_t max_length = 10;
  double layer_norm_eps = 1e-12;
  double init_std = 0.02;
};

class SASRec : public SequentialRecommender {
 public:
  using Options = SASRecOptions;
  static constexpr const char* kZooName = "sasrec";
  static constexpr const char* kSummary = "SASRec: causal self-attention over the history (Kang & McAuley 2018)";
  /// The options the zoo parses and prints, each with a one-line meaning.
  static std::vector<OptionField<SASRecOptions>> option_fields();
  static std::shared_ptr<SASRec> create(const DatasetSizes& sizes, const SASRecOptions& options) {
    return std::make_shared<SASRec>(sizes.num_items, options);
  }

  SASRec(std::int64_t num_items, SASRecOptions options = {});

  /// [B, hidden]: the encoder output at the last position of each history.
  Tensor encode(const SequenceBatch& batch) const;
  Tensor score_all(const SequenceBatch& batch) const override;
  Tensor score_items(const SequenceBatch& batch, const Tensor& items) const override;
  std::string name() const override { return "SASRec"; }
  std::string describe() const override;
  std::int64_t history_length() const override { return options.max_length; }

  SASRecOptions options;
  std::shared_ptr<nn::Embedding> item_embedding;      // [num_items + 1, hidden], row 0 = padding
  std::shared_ptr<nn::Embedding> position_embedding;  // [max_length, hidden]
  std::shared_ptr<nn::LayerNorm> layer_norm;
  std::shared_ptr<nn::Dropout> dropout;
  std::shared_ptr<nn::ModuleList> blocks;  // TransformerEncoderLayer x layers
};

}  // namespace recgrad::recsys
