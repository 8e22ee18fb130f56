// MiniOneRec's prompt vocabulary over a Qwen2 byte-level BPE tokenizer (datasets/bpe_tokenizer.h), for a model
// that starts from a Qwen2 checkpoint: titles read as the checkpoint was trained to read text, and the tokens the
// prompts need are added after the tokenizer's own, as Hugging Face's add_tokens does:
//
//   <|rec_bos|> <|rec_eos|> <|rec_sep|> <|rec_item|> <|rec_task_0|> ... <|rec_task_{T-1}|>   the prompt frame
//   <a_0> ... <a_255> <b_0> ... <d_255>                                                    every SID code
//
// A title's first `max_words` words (split at whitespace) are joined by single spaces and encoded with a leading
// space, so every word gets the same "Ġword" tokens wherever the title stands in a prompt.
#pragma once

#include "datasets/bpe_tokenizer.h"
#include "recsys/generative/prompt_vocabulary.h"
#include "recsys/generative/semantic_ids.h"

namespace recgrad::recsys {

class BpePromptVocabulary : public PromptVocabulary {
 public:
  /// `base` with the prompt tokens of `tasks` tasks and every SID token of `sids` added; a `base` that has them all
  /// (one MiniOneRec saved) is used as it is, and one that has only some of them is refused.
  BpePromptVocabulary(datasets::BpeTokenizer base, const SemanticIds& sids, std::int64_t tasks);

  std::vector<std::int64_t> encode(const std::string& text, std::int64_t max_words) const override;
  std::string decode(const std::vector<std::int64_t>& ids) const override;
  std::int64_t sid_token(std::int64_t level, std::int64_t code) const override;
  std::int64_t task_token(std::int64_t task) const override;
  std::int64_t tasks() const override { return static_cast<std::int64_t>(task_ids_.size()); }
  std::int64_t bos() const override { return bos_; }
  std::int64_t eos() const override { return eos_; }
  std::int64_t sep() const override { return sep_; }
  std::int64_t item_separator() const override { return item_; }
  std::int64_t vocab_size() const override { return tokenizer_.vocab_size(); }
  std::string summary() const override;

  /// The tokenizer's size before the prompt and SID tokens were added: ids from here on are new (the whole size
  /// for a tokenizer that had them).
  std::int64_t base_size() const { return base_size_; }
  const datasets::BpeTokenizer& tokenizer() const { return tokenizer_; }

 private:
  datasets::BpeTokenizer tokenizer_;
  std::int64_t base_size_ = 0;
  std::int64_t bos_ = 0, eos_ = 0, sep_ = 0, item_ = 0;
  std::vector<std::int64_t> task_ids_;
};

}  // namespace recgrad::recsys
