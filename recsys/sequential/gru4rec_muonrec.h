// GRU4Rec as the MuonRec study trains it (LaVieEnRose365/MuonRec experiments/traditional, class GRU): the variant
// of `--protocol muonrec`. Beside the RecBole variant of gru4rec.h:
//
//                          RecBole (gru4rec.h)                   MuonRec (this file)
//   item embedding         [N+1, 64], xavier-uniform             [N+1, 64], N(0, 0.01)
//   embedding dropout      0.3                                   none
//   GRU                    64 -> 128, 1 layer, no bias           64 -> 64, 1 layer, with biases (torch's init)
//   user representation    dense(h_last): Linear(128, 64)        h_last
//   output layer           tied: <u, E_item[i]>                  a separate Linear(64, N) (torch's init)
//
//   x_t = E_item[i_t];  h = GRU(x) over the real items of the history;  scores = s_fc(h_last)
#pragma once

#include <memory>

#include "nn/embedding.h"
#include "nn/gru.h"
#include "nn/linear.h"
#include "recsys/model.h"
#include "recsys/zoo.h"

namespace recgrad::recsys {

/// Defaults: MuonRec's sasrec_muon.py arguments (hidden_factor 64, history 10).
struct GRU4RecMuonRecOptions {
  std::int64_t hidden = 64;
  std::int64_t max_length = 10;
  double init_std = 0.01;  // item embedding N(0, init_std)
};

class GRU4RecMuonRec : public SequentialRecommender {
 public:
  using Options = GRU4RecMuonRecOptions;
  static constexpr const char* kZooName = "gru4rec_muonrec";
  static constexpr const char* kSummary =
      "GRU4Rec as the MuonRec code has it (separate output layer; --protocol muonrec)";
  /// The options the zoo parses and prints, each with a one-line meaning.
  static std::vector<OptionField<GRU4RecMuonRecOptions>> option_fields();
  static std::shared_ptr<GRU4RecMuonRec> create(const DatasetSizes& sizes, const GRU4RecMuonRecOptions& options) {
    return std::make_shared<GRU4RecMuonRec>(sizes.num_items, options);
  }

  GRU4RecMuonRec(std::int64_t num_items, GRU4RecMuonRecOptions options = {});

  /// [B, hidden]: the GRU state after the last real item of each history.
  Tensor encode(const SequenceBatch& batch) const;
  Tensor score_all(const SequenceBatch& batch) const override;
  Tensor score_items(const SequenceBatch& batch, const Tensor& items) const override;
  std::string name() const override { return "GRU4Rec-MuonRec"; }
  std::string describe() const override;
  std::int64_t history_length() const override { return options.max_length; }

  GRU4RecMuonRecOptions options;
  std::shared_ptr<nn::Embedding> item_embedding;  // [num_items + 1, hidden], row 0 = padding
  std::shared_ptr<nn::GRU> gru;
  std::shared_ptr<nn::Linear> s_fc;  // hidden -> num_items (the output layer)
};

}  // namespace recgrad::recsys
