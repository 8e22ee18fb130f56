// What MiniOneRec's prompt builder needs from a tokenizer: the ids of the special tokens that frame a prompt, one
// token per task, one token per semantic-ID code, and the ids of an item title's first words. Two implementations:
//   WordTokenizer       (recsys/generative/word_tokenizer.h)        the built-in closed word vocabulary, for a model
//                                                                  trained from scratch;
//   BpePromptVocabulary (recsys/generative/bpe_prompt_vocabulary.h) a Qwen2 tokenizer.json extended with the prompt
//                                                                  and SID tokens, for a loaded Qwen2 checkpoint.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace recgrad::recsys {

class PromptVocabulary {
 public:
  virtual ~PromptVocabulary() = default;

  /// The ids of `text`'s first `max_words` words (-1: all of it).
  virtual std::vector<std::int64_t> encode(const std::string& text, std::int64_t max_words) const = 0;
  /// The text of `ids` (specials included); an id outside the vocabulary throws.
  virtual std::string decode(const std::vector<std::int64_t>& ids) const = 0;
  /// The id of level `level`'s code `code` ("<a_12>"); throws naming the token when the vocabulary lacks it.
  virtual std::int64_t sid_token(std::int64_t level, std::int64_t code) const = 0;
  /// The id of task `task`'s token.
  virtual std::int64_t task_token(std::int64_t task) const = 0;
  /// How many task tokens there are.
  virtual std::int64_t tasks() const = 0;
  /// Starts every prompt.
  virtual std::int64_t bos() const = 0;
  /// Ends every response.
  virtual std::int64_t eos() const = 0;
  /// Ends every prompt.
  virtual std::int64_t sep() const = 0;
  /// Separates the items of a history.
  virtual std::int64_t item_separator() const = 0;
  /// The rows an embedding table needs: one more than the largest id.
  virtual std::int64_t vocab_size() const = 0;
  /// One line for describe(): the kind of tokenizer and its size.
  virtual std::string summary() const = 0;
};

}  // namespace recgrad::recsys
