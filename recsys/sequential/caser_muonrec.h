// Caser as the MuonRec study trains it (LaVieEnRose365/MuonRec experiments/traditional, class Caser): the variant
// of `--protocol muonrec`. Beside the RecBole variant of caser.h:
//
//                          RecBole (caser.h)                      MuonRec (this file)
//   item embedding         [N+1, 64], N(0, 1/64)                  [N+1, 64], N(0, 0.01); padding rows zeroed
//   history layout         left-padded                            start-aligned, padding after the items
//   horizontal filters     heights 1..L, 16 each, no activation    heights {2, 3, 4}, 16 each, ReLU, xavier-normal
//                          before the max (ReLU after), bias 0     weights, bias 0.1; max over time
//   vertical filters       4 of height L                          1 of height L, ReLU, xavier-normal, bias 0.1
//   hidden layer           fc1 + user embedding                   none
//   dropout                0.4 before fc1                         0.3 on [horizontal (48), vertical (64)]
//   output layer           fc2: Linear(128, N)                    s_fc: Linear(48 + 64, N) (torch's init)
#pragma once

#include <memory>
#include <vector>

#include "nn/conv.h"
#include "nn/dropout.h"
#include "nn/embedding.h"
#include "nn/linear.h"
#include "nn/module_list.h"
#include "recsys/model.h"
#include "recsys/zoo.h"

namespace recgrad::recsys {

/// Defaults: MuonRec's sasrec_muon.py arguments (hidden_factor 64, num_filters 16, filter_sizes [2,3,4],
/// dropout_rate 0.3, history 10).
struct CaserMuonRecOptions {
  std::int64_t hidden = 64;
  std::int64_t filters = 16;  // per height; the heights are 2, 3 and 4
  double dropout = 0.3;
  std::int64_t max_length = 10;
  double init_std = 0.01;  // item embedding N(0, init_std)
};

class CaserMuonRec : public SequentialRecommender {
 public:
  using Options = CaserMuonRecOptions;
  static constexpr const char* kZooName = "caser_muonrec";
  static constexpr const char* kSummary = "Caser as the MuonRec code has it (filters {2,3,4}; --protocol muonrec)";
  /// The filter heights of MuonRec's Caser.
  static constexpr std::int64_t kHeights[] = {2, 3, 4};
  /// The options the zoo parses and prints, each with a one-line meaning.
  static std::vector<OptionField<CaserMuonRecOptions>> option_fields();
  static std::shared_ptr<CaserMuonRec> create(const DatasetSizes& sizes, const CaserMuonRecOptions& options) {
    return std::make_shared<CaserMuonRec>(sizes.num_items, options);
  }

  CaserMuonRec(std::int64_t num_items, CaserMuonRecOptions options = {});

  /// [B, 3 * filters + hidden]: dropout([max-pooled horizontal features, vertical features]).
  Tensor encode(const SequenceBatch& batch) const;
  Tensor score_all(const SequenceBatch& batch) const override;
  Tensor score_items(const SequenceBatch& batch, const Tensor& items) const override;
  std::string name() const override { return "Caser-MuonRec"; }
  std::string describe() const override;
  std::int64_t history_length() const override { return options.max_length; }

  CaserMuonRecOptions options;
  std::shared_ptr<nn::Embedding> item_embedding;  // [num_items + 1, hidden], row 0 = padding
  std::shared_ptr<nn::ModuleList> horizontal;     // Conv2d [filters, 1, h, hidden] for h = 2, 3, 4
  std::shared_ptr<nn::Conv2d> vertical;           // [1, 1, L, 1]
  std::shared_ptr<nn::Dropout> dropout;
  std::shared_ptr<nn::Linear> s_fc;  // 3 * filters + hidden -> num_items (the output layer)
};

}  // namespace recgrad::recsys
