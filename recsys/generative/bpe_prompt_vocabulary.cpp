#include "recsys/generative/bpe_prompt_vocabulary.h"

#include <sstream>

#include "core/error.h"

namespace recgrad::recsys {

BpePromptVocabulary::BpePromptVocabulary(datasets::BpeTokenizer base, const SemanticIds& sids, std::int64_t tasks)
    : tokenizer_(std::move(base)), base_size_(tokenizer_.vocab_size()) {
  RG_CHECK(tasks >= 0 && tasks <= 64, "BpePromptVocabulary: tasks must be in 0..64, got ", tasks);
  std::vector<std::string> added = {"<|rec_bos|>", "<|rec_eos|>", "<|rec_sep|>", "<|rec_item|>"};
  for (std::int64_t t = 0; t < tasks; ++t) added.push_back("<|rec_task_" + std::to_string(t) + "|>");
  for (std::int64_t level = 0; level < sids.levels(); ++level) {
    for (std::int64_t code = 0; code < sids.codebook_sizes[static_cast<std::size_t>(level)]; ++code) {
      added.push_back(semantic_token(level, code));
    }
  }
  std::size_t present = 0;
  const std::string* missing = nullptr;
  for (const std::string& token : added) {
    if (tokenizer_.contains(token)) {
      ++present;
    } else if (missing == nullptr) {
      missing = &token;
    }
  }
  // A tokenizer MiniOneRec saved (MiniOneRec::save_hf) has them all already: it is used as it is.
  RG_CHECK(present == 0 || present == added.size(), tokenizer_.path(), ": has ", present, " of the ", added.size(),
           " prompt and SID tokens MiniOneRec adds but not \"", missing == nullptr ? "" : *missing,
           "\": it was extended for other semantic IDs or tasks");
  tokenizer_.add_tokens(added);
  bos_ = tokenizer_.id_of("<|rec_bos|>");
  eos_ = tokenizer_.id_of("<|rec_eos|>");
  sep_ = tokenizer_.id_of("<|rec_sep|>");
  item_ = tokenizer_.id_of("<|rec_item|>");
  for (std::int64_t t = 0; t < tasks; ++t)
    task_ids_.push_back(tokenizer_.id_of("<|rec_task_" + std::to_string(t) + "|>"));
}

std::vector<std::int64_t> BpePromptVocabulary::encode(const std::string& text, std::int64_t max_words) const {
  std::istringstream words(text);
  std::string word, kept;
  for (std::int64_t n = 0; (max_words < 0 || n < max_words) && words >> word; ++n) kept += " " + word;
  return tokenizer_.encode(kept);
}

std::string BpePromptVocabulary::decode(const std::vector<std::int64_t>& ids) const { return tokenizer_.decode(ids); }

std::int64_t BpePromptVocabulary::sid_token(std::int64_t level, std::int64_t code) const {
  const std::string token = semantic_token(level, code);
  RG_CHECK(tokenizer_.contains(token), tokenizer_.path(), ": the SID token ", token, " is not in the vocabulary");
  return tokenizer_.id_of(token);
}

std::int64_t BpePromptVocabulary::task_token(std::int64_t task) const {
  RG_CHECK(task >= 0 && task < tasks(), "BpePromptVocabulary: task ", task, " is not in 0..", tasks() - 1);
  return task_ids_[static_cast<std::size_t>(task)];
}

std::string BpePromptVocabulary::summary() const {
  if (base_size_ == vocab_size()) {
    return "BPE " + tokenizer_.path() + " " + std::to_string(base_size_) + " tokens, prompt and SID tokens included";
  }
  return "BPE " + tokenizer_.path() + " " + std::to_string(base_size_) + " + " +
         std::to_string(vocab_size() - base_size_) + " tokens";
}

}  // namespace recgrad::recsys
