// MiniOneRec (Kong et al., arXiv 2510.24431), supervised fine-tuning stage: a Qwen2-style decoder-only language
// model (nn/qwen2.h) over a vocabulary of words and semantic-ID tokens (recsys/generative/word_tokenizer.h), trained
// from scratch on MiniOneRec's tasks (recsys/generative/prompts.h) with the loss on the response tokens only.
//
//   training   each batch row gives its next-item example (task 0: SID history -> next SID); with probability
//              title_history_share also task 3 (title history -> next SID), and with probability alignment_share the
//              two alignment examples of its target (task 1 title -> SID, task 2 SID -> title). The draws are a hash
//              of the row and of a step counter kept as a buffer (so a resumed run draws the same examples).
//   ranking    task 0's prompt, then the trie-constrained beam search of TIGER (recsys/generative/beam_search.h)
//              over the decoder with its KV cache; a token's log-probability is the full-vocabulary log-softmax
//              (as Hugging Face's beam search scores before its constraint masks the rest); an item's score is the
//              sum over its SID tokens; items outside the beams get the lowest score (a miss). `exact` ranks all.
//
// Items are named by their semantic IDs with TIGER's deduplication level (items sharing a SID get a fourth token),
// so that every beam is one item. Sizes: the default is MiniOneRec-S of research/generative.md (4 layers, d 128,
// 4 heads of 32, SwiGLU 352, tied embeddings, RoPE theta 1e4). Qwen2 has no dropout, and neither has this model.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/qwen2.h"
#include "recsys/generative/beam_search.h"
#include "recsys/generative/prompts.h"
#include "recsys/generative/semantic_ids.h"
#include "recsys/generative/sid_trie.h"
#include "recsys/generative/word_tokenizer.h"
#include "recsys/model.h"
#include "recsys/model_options.h"
#include "recsys/zoo.h"

namespace recgrad::recsys {

struct MiniOneRecOptions {
  std::int64_t hidden = 128;
  std::int64_t layers = 4;
  std::int64_t heads = 4;
  std::int64_t kv_heads = 4;
  std::int64_t intermediate = 352;
  double rope_theta = 10000.0;
  std::int64_t max_length = 10;      // history items a next-item prompt reads
  std::int64_t title_words = 8;      // title words per item in the prompts
  std::int64_t min_word_count = 2;   // a title word enters the vocabulary when it occurs this often
  double alignment_share = 0.25;     // per training row: the chance of adding its target's two alignment examples
  double title_history_share = 0.3;  // per training row: the chance of adding its title-history example
  std::int64_t valid_beams = 20;
  std::int64_t test_beams = 50;
  std::int64_t valid_rows = 1000;  // validation ranks a fixed, evenly spread subset of this many rows (0 = all)
  std::int64_t exact = 0;          // 1: rank every item (beam width = catalogue size)
  std::int64_t context = 256;
  /// A Hugging Face Qwen2 folder (config.json, model.safetensors or its index, tokenizer.json) to start from
  /// instead of a model from scratch: its config replaces hidden, layers, heads, kv_heads, intermediate and
  /// rope_theta, its tokenizer.json reads the titles, and the vocabulary grows by the prompt and SID tokens.
  std::string qwen2;
};

class MiniOneRec : public SequentialRecommender {
 public:
  using Options = MiniOneRecOptions;
  static constexpr const char* kZooName = "minionerec";
  static constexpr bool kGenerative = true;
  static constexpr const char* kSummary =
      "MiniOneRec (SFT): Qwen2-style decoder over words and semantic-ID tokens, trained from scratch, small CPU size";
  static std::vector<OptionField<MiniOneRecOptions>> option_fields();
  /// Needs sizes.semantic_ids and sizes.item_titles; throws naming the fix when they are missing.
  static std::shared_ptr<MiniOneRec> create(const DatasetSizes& sizes, const MiniOneRecOptions& options);

  /// `semantic_ids`: every item's distinct SID; `titles[i]`: item i's title (titles[0] unused).
  MiniOneRec(const SemanticIds& semantic_ids, std::vector<std::string> titles, MiniOneRecOptions options = {});

  /// The examples a training batch gives (see the top of the file); advances the step counter. In eval mode:
  /// each row's next-SID example alone (the validation loss), and the counter stays.
  std::vector<PromptExample> training_examples(const SequenceBatch& batch) const;
  /// Mean token cross-entropy over the response tokens of training_examples(batch) (only full_softmax applies).
  Tensor loss(const SequenceBatch& batch, LossKind kind) const override;
  /// log p(item's SID | task 0 prompt) [B, K] for items [B, K], teacher-forced.
  Tensor score_items(const SequenceBatch& batch, const Tensor& items) const override;
  /// [B, num_items]: beam scores, the lowest float outside the beams.
  Tensor score_all(const SequenceBatch& batch) const override;
  void set_evaluation_split(datasets::SplitName split) override {
    evaluating_test_ = split == datasets::SplitName::Test;
  }
  /// The beam search's items for each row of the batch (their next-SID prompts).
  std::vector<std::vector<ScoredItem>> recommend(const SequenceBatch& batch, std::int64_t width) const;
  /// The beam search's items for each prompt (tasks whose response is an SID: next item or title -> SID); only
  /// the prompts are read. GRPO's rollouts.
  std::vector<std::vector<ScoredItem>> recommend_prompts(const std::vector<PromptExample>& examples,
                                                         std::int64_t width) const;

  /// Writes the decoder and its extended tokenizer as a Hugging Face Qwen2 folder (config.json, model.safetensors,
  /// tokenizer.json with the prompt and SID tokens added; each file atomically), which options.qwen2 loads back
  /// unchanged. Only a model started from a Qwen2 folder has a tokenizer.json to write; otherwise throws.
  void save_hf(const std::string& folder) const;

  /// A frozen copy of this model (GRPO's reference): the same tokenizer, trie and options, a decoder of the same
  /// config with these weights copied (no checkpoint re-read), on the same device, no gradients, in eval mode.
  std::shared_ptr<MiniOneRec> frozen_copy() const;

  bool is_generative() const override { return true; }
  std::int64_t validation_rows() const override { return options.valid_rows; }
  std::string name() const override { return "MiniOneRec"; }
  std::string describe() const override;
  std::int64_t history_length() const override { return options.max_length; }

  MiniOneRecOptions options;
  SemanticIds semantic_ids;
  std::vector<std::string> titles;
  std::shared_ptr<const PromptVocabulary> tokenizer;  // WordTokenizer, or BpePromptVocabulary with options.qwen2
  PromptBuilder prompts;
  std::shared_ptr<const SidTrie> trie;
  std::shared_ptr<nn::Qwen2ForCausalLM> lm;
  Tensor sampling_step;  // [1] i64 buffer: the training batches seen, for the task draws
  /// The memory the beam search's KV caches may take: the prompts decode in chunks of rows whose caches
  /// (rows x width beams x tokens x layers x keys and values) fit it. It bounds the 50-beam test's memory
  /// (without it, 1024 rows x 50 beams took 14-16 GB) and changes no result. 256 MiB keeps each decoding step's
  /// new caches (one reordered and one extended copy per layer) inside the host allocator's 1 GiB block cache, so
  /// they reuse warm memory (with 1 GiB chunks every step had the kernel zero fresh pages).
  std::int64_t decode_cache_bytes = std::int64_t{256} << 20;

 private:
  /// Each row's history (item ids, oldest first, 0 = padding), read from the batch once.
  static std::vector<std::vector<datasets::ItemId>> histories_of(const SequenceBatch& batch);
  struct CopyTag {};
  MiniOneRec(const MiniOneRec& source, CopyTag);  // frozen_copy's
  /// The rows one beam-search chunk may hold so that its caches fit decode_cache_bytes (at least 1).
  std::int64_t decode_rows_per_chunk(std::int64_t sequence_length, std::int64_t width) const;
  /// recommend_prompts on one chunk of rows: the prompts in one forward pass, then the levels with KV caches.
  std::vector<std::vector<ScoredItem>> beam_search_chunk(const std::vector<PromptExample>& examples,
                                                         std::int64_t width) const;
  std::vector<Tensor> level_tokens_;                     // per level: the vocabulary ids of its codes 0..K_l-1
  static constexpr std::int64_t kTokensPerGroup = 8192;  // the padded tokens of one forward pass in loss()
  bool evaluating_test_ = false;
};

/// MiniOneRec's GPU size: 8 layers of width 512, 8 query and 2 key/value heads (grouped-query attention, as in
/// Qwen2.5), SwiGLU 1408 (2.75 x 512), RoPE base 1e6, every validation row ranked. The other defaults are
/// MiniOneRecOptions'.
struct MiniOneRecGpuOptions : MiniOneRecOptions {
  MiniOneRecGpuOptions() {
    hidden = 512;
    layers = 8;
    heads = 8;
    kv_heads = 2;
    intermediate = 1408;
    rope_theta = 1e6;
    valid_rows = 0;
  }
};

/// The zoo entry of MiniOneRec at its GPU size (it builds a MiniOneRec).
struct MiniOneRecGpu {
  using Options = MiniOneRecGpuOptions;
  static constexpr const char* kZooName = "minionerec_gpu";
  static constexpr bool kGenerative = true;
  static constexpr const char* kSummary =
      "MiniOneRec (SFT) at its GPU size (8 layers of 512, 8/2 heads, SwiGLU 1408), trained from scratch";
  static std::vector<OptionField<MiniOneRecGpuOptions>> option_fields();
  static std::shared_ptr<MiniOneRec> create(const DatasetSizes& sizes, const MiniOneRecGpuOptions& options) {
    return MiniOneRec::create(sizes, options);
  }
};

}  // namespace recgrad::recsys
