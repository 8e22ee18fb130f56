// MiniOneRec's built-in tokenizer for a model trained from scratch: a closed vocabulary of
//
//   specials   <pad> 0, <bos> 1, <eos> 2, <unk> 3, <sep> 4 (ends a prompt), <item> 5 (separates the items of a
//              prompt), then one token per task (<task_0>, <task_1>, ...)
//   SID tokens every code of every level of the semantic IDs ("<a_0>" ... "<c_255>"), in level and code order
//   words      the lower-cased words and punctuation marks of the item titles (and of any extra text given) that
//              occur at least `min_count` times, by decreasing count (ties alphabetical)
//
// Text splits into words at whitespace; a word is a run of ASCII letters and digits (lower-cased) or of non-ASCII
// bytes (so UTF-8 letters stay inside words); every other ASCII character (punctuation) is a token of its own. A word
// outside the vocabulary encodes as <unk>. Byte-level BPE (datasets/bpe_tokenizer.h) is the alternative for a loaded
// Qwen checkpoint; this one keeps sequences about five times shorter, which is what a 2-core budget needs.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "recsys/generative/prompt_vocabulary.h"
#include "recsys/generative/semantic_ids.h"

namespace recgrad::recsys {

class WordTokenizer : public PromptVocabulary {
 public:
  static constexpr std::int64_t kPad = 0, kBos = 1, kEos = 2, kUnk = 3, kSep = 4, kItem = 5, kFirstTask = 6;

  /// The vocabulary of `tasks` task tokens, the SID tokens of `sids` and the words of `texts` seen at least
  /// `min_count` times.
  static WordTokenizer build(const SemanticIds& sids, const std::vector<std::string>& texts, std::int64_t tasks,
                             std::int64_t min_count = 2);
  /// Reads a tokenizer written by save(); errors name the file and what is wrong.
  static WordTokenizer load(const std::string& path);
  /// Writes the vocabulary as JSON ({"format": "recgrad-word-tokenizer", "tasks": N, "tokens": [...]}), atomically.
  void save(const std::string& path) const;

  /// The words and punctuation of `text` (see the top of the file), lower-cased.
  static std::vector<std::string> split(const std::string& text);
  /// The ids of split(text), <unk> for words outside the vocabulary, at most `max_words` of them (-1: all).
  std::vector<std::int64_t> encode(const std::string& text, std::int64_t max_words = -1) const override;
  /// The tokens of `ids` joined by spaces (specials included); an id outside the vocabulary throws.
  std::string decode(const std::vector<std::int64_t>& ids) const override;

  /// The id of an exact token ("<a_12>", "<sep>", "kit"); throws naming the token when it is not in the vocabulary.
  std::int64_t id_of(const std::string& token) const;
  /// The id of level `level`'s code `code`; throws naming the token when the vocabulary lacks it.
  std::int64_t sid_token(std::int64_t level, std::int64_t code) const override;
  /// The id of task `task`'s token.
  std::int64_t task_token(std::int64_t task) const override;
  const std::string& token(std::int64_t id) const;
  std::int64_t vocab_size() const override { return static_cast<std::int64_t>(tokens_.size()); }
  std::int64_t tasks() const override { return tasks_; }
  std::int64_t bos() const override { return kBos; }
  std::int64_t eos() const override { return kEos; }
  std::int64_t sep() const override { return kSep; }
  std::int64_t item_separator() const override { return kItem; }
  std::string summary() const override { return "word vocabulary " + std::to_string(vocab_size()); }
  /// Whether `id` is an SID token.
  bool is_sid_token(std::int64_t id) const { return id >= first_sid_ && id < first_word_; }

 private:
  WordTokenizer(std::vector<std::string> tokens, std::int64_t tasks, const std::string& source);

  std::vector<std::string> tokens_;
  std::unordered_map<std::string, std::int64_t> ids_;
  std::int64_t tasks_ = 0, first_sid_ = 0, first_word_ = 0;
};

}  // namespace recgrad::recsys
