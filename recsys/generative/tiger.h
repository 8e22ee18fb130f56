// TIGER (Rajput et al., "Recommender Systems with Generative Retrieval", NeurIPS 2023): an encoder-decoder
// Transformer (T5, nn/t5.h) that reads a user's history as semantic-ID tokens and generates the next item's
// semantic ID token by token.
//
//   vocabulary   pad (0), bos (1), then one block of codes per SID level (level l's code c is token
//                offset_l + c), then `user_buckets` user tokens
//   encoder in   [user token, SID tokens of the last max_length items] (left-padded; padding is masked), so
//                1 + max_length * levels tokens
//   decoder in   [bos, s_0, ..., s_{L-2}]  ->  predicts  [s_0, ..., s_{L-1}]  (the target's SID, L = levels)
//   logits       at position l, only over level l's codes: h_l W_l^T with W_l the head's rows of that level
//   loss         token cross-entropy, the mean over the batch's B * L target tokens
//
// The user token is user_bucket(u) = splitmix64(u) mod user_buckets (TIGER hashes the user id into 2000 buckets).
// Items are ranked by constrained beam search (recsys/generative/beam_search.h): score = sum of the log-
// probabilities of an item's tokens; items outside the beams get the lowest score, so a target outside them is a
// miss at every K <= the width (metrics count ties pessimistically). With `exact` the search keeps every item and
// so ranks the whole catalogue exactly.
//
// Sizes: `tiger` is a small configuration that trains on 2 CPU cores in minutes (2 + 2 layers, d_model 128,
// 4 heads of 32, d_ff 512); `tiger_paper` is the paper's (4 + 4 layers, d_model 128, 6 heads of 64, d_ff 1024,
// dropout 0.1).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/embedding.h"
#include "nn/linear.h"
#include "nn/module_list.h"
#include "nn/rms_norm.h"
#include "nn/t5.h"
#include "nn/transformer.h"
#include "recsys/generative/beam_search.h"
#include "recsys/generative/semantic_ids.h"
#include "recsys/generative/sid_trie.h"
#include "recsys/model.h"
#include "recsys/model_options.h"
#include "recsys/zoo.h"

namespace recgrad::recsys {

/// Defaults: the small CPU configuration (research/generative.md, "TIGER-S"); TigerPaper overrides the sizes.
struct TigerOptions {
  std::int64_t d_model = 128;
  std::int64_t encoder_layers = 2;
  std::int64_t decoder_layers = 2;
  std::int64_t heads = 4;
  std::int64_t head_dim = 32;
  std::int64_t d_ff = 512;
  double dropout = 0.1;
  std::int64_t max_length = 10;        // history items read (the release's window)
  std::int64_t user_buckets = 2000;    // hashed user tokens
  std::int64_t position_buckets = 32;  // relative position buckets
  std::int64_t max_distance = 128;     // relative positions beyond this share the last bucket
  std::int64_t valid_beams = 20;       // beam width when ranking validation rows
  std::int64_t test_beams = 50;        // ... and test rows
  std::int64_t exact = 0;              // 1: rank every item exactly (beam width = catalogue size)
};

class Tiger : public SequentialRecommender {
 public:
  using Options = TigerOptions;
  static constexpr const char* kZooName = "tiger";
  static constexpr bool kGenerative = true;
  static constexpr const char* kSummary =
      "TIGER: T5 encoder-decoder generating the next item's semantic ID (Rajput et al. 2023), small CPU size";
  static std::vector<OptionField<TigerOptions>> option_fields();
  /// Needs sizes.semantic_ids (recbench --sid-source); throws naming the fix when there are none.
  static std::shared_ptr<Tiger> create(const DatasetSizes& sizes, const TigerOptions& options);

  /// `semantic_ids`: every item's SID, distinct (with_dedup_level applied when the source has collisions).
  Tiger(const SemanticIds& semantic_ids, std::int64_t num_users, TigerOptions options = {});

  /// The encoder's input tokens [B, 1 + max_length * levels] i64 of a batch (0 = padding).
  Tensor encoder_tokens(const SequenceBatch& batch) const;
  /// The decoder's target tokens [B, levels] of item ids [B] (vocabulary ids).
  Tensor sid_tokens(const Tensor& items) const;
  /// log p(item's SID | history) [B, K] for items [B, K]: teacher-forced, summed over the SID's tokens.
  Tensor score_items(const SequenceBatch& batch, const Tensor& items) const override;
  /// [B, num_items]: beam scores of the beam search's items, the lowest float elsewhere (see the top).
  Tensor score_all(const SequenceBatch& batch) const override;
  /// Token cross-entropy of the targets' SIDs (any LossKind other than full_softmax is refused).
  Tensor loss(const SequenceBatch& batch, LossKind kind) const override;
  /// Ranks with valid_beams, or test_beams for the test split.
  void set_evaluation_split(datasets::SplitName split) override {
    evaluating_test_ = split == datasets::SplitName::Test;
  }
  /// The beam search's items and scores for each row of the batch, `width` beams.
  std::vector<std::vector<ScoredItem>> recommend(const SequenceBatch& batch, std::int64_t width) const;

  bool is_generative() const override { return true; }
  std::string name() const override { return "TIGER"; }
  std::string describe() const override;
  std::int64_t history_length() const override { return options.max_length; }

  /// The user token's bucket: splitmix64(user) mod user_buckets.
  std::int64_t user_bucket(std::int64_t user) const;

  TigerOptions options;
  SemanticIds semantic_ids;
  std::shared_ptr<const SidTrie> trie;
  std::vector<std::int64_t> level_offsets;  // first vocabulary id of each level's codes
  std::int64_t user_offset = 0, vocabulary = 0;
  Tensor item_tokens;  // [num_items + 1, levels] i64 vocabulary ids (row 0: padding)

  std::shared_ptr<nn::Embedding> shared;  // [vocabulary, d_model], encoder and decoder inputs
  std::shared_ptr<nn::RelativePositionBias> encoder_position_bias, decoder_position_bias;
  std::shared_ptr<nn::ModuleList> encoder_layers, decoder_layers;  // T5EncoderLayer / T5DecoderLayer
  std::shared_ptr<nn::RMSNorm> encoder_norm, decoder_norm;
  std::shared_ptr<nn::Dropout> dropout;
  std::shared_ptr<nn::Linear> head;  // [vocabulary, d_model], no bias

 private:
  struct Encoded {
    Tensor memory;                        // [B, T, d]
    Tensor padding;                       // [B, T] b8, true = padding
    std::vector<nn::T5CrossCache> cross;  // per decoder layer
  };
  Encoded encode(const SequenceBatch& batch) const;
  /// Decoder hidden states [N, T, d] of input tokens [N, T] (teacher forcing, no cache) for encoded rows; with
  /// sequences_per_source = G, N = rows * G and each row's G consecutive sequences read that row's encoding.
  Tensor decode(const Tensor& tokens, const Encoded& encoded, std::int64_t sequences_per_source = 1) const;
  /// Restricted log-probabilities or logits of level l from hidden states h [..., d]: [..., K_l].
  Tensor level_logits(const Tensor& hidden, std::int64_t level) const;

  bool evaluating_test_ = false;
};

/// TIGER at the paper's size: 4 + 4 layers, d_model 128, 6 heads of 64, d_ff 1024, dropout 0.1 (about 13M
/// parameters with the embeddings of 4 x 256 codes and 2000 users). The other defaults are TigerOptions'.
struct TigerPaperOptions : TigerOptions {
  TigerPaperOptions() {
    encoder_layers = 4;
    decoder_layers = 4;
    heads = 6;
    head_dim = 64;
    d_ff = 1024;
  }
};

/// The zoo entry of TIGER at the paper's size (it builds a Tiger).
struct TigerPaper {
  using Options = TigerPaperOptions;
  static constexpr const char* kZooName = "tiger_paper";
  static constexpr bool kGenerative = true;
  static constexpr const char* kSummary = "TIGER at the paper's size (4+4 layers, 6 heads of 64, d_ff 1024)";
  static std::vector<OptionField<TigerPaperOptions>> option_fields();
  static std::shared_ptr<Tiger> create(const DatasetSizes& sizes, const TigerPaperOptions& options) {
    return Tiger::create(sizes, options);
  }
};

}  // namespace recgrad::recsys
