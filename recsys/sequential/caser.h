// Caser (Tang & Wang, "Personalized Top-N Sequential Recommendation via Convolutional Sequence Embedding",
// WSDM 2018), in the form of RecBole's implementation that the MuonRec study trains. The L x d matrix of the
// last L item embeddings is read by
//   horizontal filters of heights h = 1..L (n_h each, width d): relu, then max over time -> n_h * L values
//   a vertical filter bank (n_v filters of height L, width 1) -> n_v * d values
//   z = relu(fc1(dropout(concat)));  scores = fc2([z, E_user[u]])   (fc2 is the output layer, one row per item)
#pragma once

#include <memory>

#include "nn/conv.h"
#include "nn/dropout.h"
#include "nn/embedding.h"
#include "nn/linear.h"
#include "nn/module_list.h"
#include "recsys/model.h"
#include "recsys/zoo.h"

namespace recgrad::recsys {

/// Defaults: RecBole's caser.yaml (embedding_size 64, n_h 16, n_v 4, dropout_prob 0.4); max_length 10 is the
/// history length of the MiniOneRec Amazon release (Caser's L).
struct CaserOptions {
  std::int64_t embedding = 64;
  std::int64_t horizontal_filters = 16;  // n_h per height
  std::int64_t vertical_filters = 4;     // n_v
  double dropout = 0.4;
  std::int64_t max_length = 10;
};

class Caser : public SequentialRecommender {
 public:
  using Options = CaserOptions;
  static constexpr const char* kZooName = "caser";
  static constexpr const char* kSummary =
      "Caser: horizontal and vertical convolutions over the history (Tang & Wang 2018)";
  /// The options the zoo parses and prints, each with a one-line meaning.
  static std::vector<OptionField<CaserOptions>> option_fields();
  static std::shared_ptr<Caser> create(const DatasetSizes& sizes, const CaserOptions& options) {
    return std::make_shared<Caser>(sizes.num_items, sizes.num_users, options);
  }

  Caser(std::int64_t num_items, std::int64_t num_users, CaserOptions options = {});

  /// [B, 2 * embedding]: [z, user embedding], the input of the output layer.
  Tensor encode(const SequenceBatch& batch) const;
  Tensor score_all(const SequenceBatch& batch) const override;
  Tensor score_items(const SequenceBatch& batch, const Tensor& items) const override;
  std::string name() const override { return "Caser"; }
  std::string describe() const override;
  std::int64_t history_length() const override { return options.max_length; }

  CaserOptions options;
  std::int64_t num_users;
  std::shared_ptr<nn::Embedding> item_embedding;  // [num_items + 1, embedding], row 0 = padding
  std::shared_ptr<nn::Embedding> user_embedding;  // [num_users, embedding]
  std::shared_ptr<nn::Conv2d> conv_v;             // [n_v, 1, L, 1]
  std::shared_ptr<nn::ModuleList> conv_h;         // Conv2d [n_h, 1, h, embedding] for h = 1..L
  std::shared_ptr<nn::Linear> fc1;                // n_v * d + n_h * L -> embedding
  std::shared_ptr<nn::Linear> fc2;                // 2 * embedding -> num_items (the output layer)
  std::shared_ptr<nn::Dropout> dropout;
};

}  // namespace recgrad::recsys
