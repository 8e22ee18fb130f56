// SASRec as the MuonRec study trains it (LaVieEnRose365/MuonRec experiments/traditional, class SASRec, with the
// MultiHeadAttention and PositionwiseFeedForward of MiniOneRec's SASRecModules_ori): the variant of
// `--protocol muonrec`. Beside the RecBole variant of sasrec.h:
//
//                          RecBole (sasrec.h)                       MuonRec (this file)
//   history layout         left-padded; last item at position L-1   start-aligned: oldest item at position 0
//   item embedding         [N+1, 64], N(0, 0.02)                    [N+1, 64], N(0, 0.01); positions N(0, 1)
//   blocks, heads          2 post-norm blocks, 2 heads              1 block, 1 head
//   attention              fused QKV, scores / sqrt(head dim)       separate Q, K, V Linear; Q reads LN1(x), K and V
//                                                                   read x; scores / sqrt(hidden); out = attn + LN1(x)
//   feed-forward           Linear 64->256->64, GELU, post-norm      64->64->64 with ReLU (MuonRec: Conv1d k=1, here
//                                                                   Linear), dropout, LN(ff + LN2(attn))
//   after the block        (none)                                   padding rows zeroed, final LN3
//   dropout                0.5                                      0.3 (embeddings, attention weights, FFN)
//   output layer           tied: <u, E_item[i]>                     a separate Linear(64, N) (torch's init)
//
// One deliberate difference from MuonRec's code: its feed-forward weights are Conv1d kernels [64, 64, 1], which
// its batched Newton-Schulz treats as 64 separate 1 x 64 matrices (each row normalised); here they are 2-D
// [64, 64] Linear weights, which Muon orthogonalises as one matrix (the principled choice; the same numbers in
// the forward pass).
#pragma once

#include <memory>

#include "nn/dropout.h"
#include "nn/embedding.h"
#include "nn/layer_norm.h"
#include "nn/linear.h"
#include "recsys/model.h"
#include "recsys/zoo.h"

namespace recgrad::recsys {

/// Defaults: MuonRec's sasrec_muon.py arguments (hidden_factor 64, dropout_rate 0.3, 1 head, history 10).
struct SASRecMuonRecOptions {
  std::int64_t hidden = 64;
  std::int64_t heads = 1;
  double dropout = 0.3;
  std::int64_t max_length = 10;
  double init_std = 0.01;  // item embedding N(0, init_std)
};

class SASRecMuonRec : public SequentialRecommender {
 public:
  using Options = SASRecMuonRecOptions;
  static constexpr const char* kZooName = "sasrec_muonrec";
  static constexpr const char* kSummary = "SASRec as the MuonRec code has it (1 block, 1 head; --protocol muonrec)";
  /// The options the zoo parses and prints, each with a one-line meaning.
  static std::vector<OptionField<SASRecMuonRecOptions>> option_fields();
  static std::shared_ptr<SASRecMuonRec> create(const DatasetSizes& sizes, const SASRecMuonRecOptions& options) {
    return std::make_shared<SASRecMuonRec>(sizes.num_items, options);
  }

  SASRecMuonRec(std::int64_t num_items, SASRecMuonRecOptions options = {});

  /// [B, hidden]: the final-normed block output at each history's last real item.
  Tensor encode(const SequenceBatch& batch) const;
  Tensor score_all(const SequenceBatch& batch) const override;
  Tensor score_items(const SequenceBatch& batch, const Tensor& items) const override;
  std::string name() const override { return "SASRec-MuonRec"; }
  std::string describe() const override;
  std::int64_t history_length() const override { return options.max_length; }

  SASRecMuonRecOptions options;
  std::shared_ptr<nn::Embedding> item_embedding;      // [num_items + 1, hidden], row 0 = padding
  std::shared_ptr<nn::Embedding> position_embedding;  // [max_length, hidden]
  std::shared_ptr<nn::LayerNorm> ln_1, ln_2, ln_3;
  std::shared_ptr<nn::Linear> linear_q, linear_k, linear_v;  // the attention's Q, K, V: three separate matrices
  std::shared_ptr<nn::Linear> ffn_1, ffn_2;                  // the feed-forward (MuonRec: Conv1d, kernel 1)
  std::shared_ptr<nn::LayerNorm> ffn_norm;
  std::shared_ptr<nn::Dropout> embedding_dropout, attention_dropout, ffn_dropout;
  std::shared_ptr<nn::Linear> s_fc;  // hidden -> num_items (the output layer)
};

}  // namespace recgrad::recsys
