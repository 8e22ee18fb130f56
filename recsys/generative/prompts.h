// MiniOneRec's tasks as token sequences: the one prompt builder that supervised fine-tuning, reinforcement learning
// and evaluation all use (MiniOneRec's issue #65: a training prompt that differs from the evaluation prompt costs
// accuracy). Every example is a prompt and a response over a PromptVocabulary (the built-in words, or a Qwen2 BPE
// tokenizer extended with these tokens; recsys/generative/prompt_vocabulary.h):
//
//   task 0  next item from SID history   <bos> <task_0> SID(h_1) <item> ... <item> SID(h_n) <sep>   -> SID(t) <eos>
//   task 1  item title -> SID            <bos> <task_1> title(t) <sep>                             -> SID(t) <eos>
//   task 2  SID -> item title            <bos> <task_2> SID(t) <sep>                               -> title(t) <eos>
//   task 3  next item from title history <bos> <task_3> title(h_1) <item> ... title(h_n) <sep>     -> SID(t) <eos>
//
// SID(i) is item i's semantic-ID tokens, coarse to fine; title(i) its first `title_words` title words. Histories are
// the last `max_history` items. A sequence (prompt + response) longer than `context` tokens is an error naming the
// item or row, never silently cut.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/sequence_dataset.h"
#include "recsys/generative/prompt_vocabulary.h"
#include "recsys/generative/semantic_ids.h"

namespace recgrad::recsys {

enum class PromptTask : std::int64_t { sid_history = 0, title_to_sid = 1, sid_to_title = 2, title_history = 3 };
inline constexpr std::int64_t kPromptTasks = 4;

/// One example: the prompt (ending in <sep>), the response (ending in <eos>), its task and the item it is about (the
/// target of a next-item task, the described item otherwise).
struct PromptExample {
  std::vector<std::int64_t> prompt;
  std::vector<std::int64_t> response;
  PromptTask task = PromptTask::sid_history;
  datasets::ItemId item = 0;
};

struct PromptOptions {
  std::int64_t max_history = 10;  // history items a next-item prompt reads (the most recent)
  std::int64_t title_words = 8;   // title words kept per item
  std::int64_t context = 256;     // the model's context: prompt + response tokens
};

class PromptBuilder {
 public:
  /// `sids`: every item's SID; `titles`: titles[i] is item i's title (titles[0], the padding's, is unused). Both
  /// are referenced, not copied, and must outlive the builder.
  PromptBuilder(const PromptVocabulary& tokenizer, const SemanticIds& sids, const std::vector<std::string>& titles,
                PromptOptions options = {});

  /// Item `item`'s SID tokens; throws naming the item and the token when the vocabulary lacks one.
  std::vector<std::int64_t> sid_tokens(datasets::ItemId item) const;
  /// Item `item`'s first title_words title tokens.
  std::vector<std::int64_t> title_tokens(datasets::ItemId item) const;

  /// Task 0 or 3 for a history (item ids, oldest first; 0 = padding, skipped) and its next item.
  PromptExample next_item(PromptTask task, const std::vector<datasets::ItemId>& history, datasets::ItemId target) const;
  /// Task 1 or 2 for one item.
  PromptExample alignment(PromptTask task, datasets::ItemId item) const;

  /// Throws (as the examples would, naming the task and item) unless every task's longest example over this
  /// catalogue fits the context; the bound reads the item with the longest SID or title max_history times. A model
  /// calls it when built, so that a short context is refused before any training.
  void check_fits_context() const;

  const PromptVocabulary& tokenizer() const { return tokenizer_; }
  const PromptOptions& options() const { return options_; }

 private:
  PromptExample finish(PromptExample example, const char* what) const;

  const PromptVocabulary& tokenizer_;
  const SemanticIds& sids_;
  const std::vector<std::string>& titles_;
  PromptOptions options_;
};

}  // namespace recgrad::recsys
