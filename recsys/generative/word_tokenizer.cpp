#include "recsys/generative/word_tokenizer.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"

namespace recgrad::recsys {
namespace {

constexpr const char* kFormat = "recgrad-word-tokenizer";

std::vector<std::string> special_tokens(std::int64_t tasks) {
  std::vector<std::string> tokens = {"<pad>", "<bos>", "<eos>", "<unk>", "<sep>", "<item>"};
  for (std::int64_t t = 0; t < tasks; ++t) tokens.push_back("<task_" + std::to_string(t) + ">");
  return tokens;
}

bool is_sid_text(const std::string& token) {
  return token.size() >= 5 && token.front() == '<' && token.back() == '>' && token[1] >= 'a' && token[1] <= 'z' &&
         token[2] == '_';
}

}  // namespace

std::vector<std::string> WordTokenizer::split(const std::string& text) {
  std::vector<std::string> words;
  std::string current;
  const auto flush = [&] {
    if (!current.empty()) words.push_back(std::move(current)), current.clear();
  };
  for (const char raw : text) {
    const auto c = static_cast<unsigned char>(raw);
    if (c >= 0x80 || std::isalnum(c) != 0) {
      current += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    } else if (std::isspace(c) != 0) {
      flush();
    } else {
      flush();
      words.emplace_back(1, raw);
    }
  }
  flush();
  return words;
}

WordTokenizer::WordTokenizer(std::vector<std::string> tokens, std::int64_t tasks, const std::string& source)
    : tokens_(std::move(tokens)), tasks_(tasks) {
  const std::vector<std::string> specials = special_tokens(tasks);
  RG_CHECK(tokens_.size() >= specials.size() && std::equal(specials.begin(), specials.end(), tokens_.begin()), source,
           ": the vocabulary must start with the special tokens <pad> <bos> <eos> <unk> <sep> <item> and ", tasks,
           " task tokens");
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    RG_CHECK(!tokens_[i].empty(), source, ": token ", i, " is empty");
    RG_CHECK(ids_.emplace(tokens_[i], static_cast<std::int64_t>(i)).second, source, ": the token \"", tokens_[i],
             "\" appears twice (ids ", ids_.at(tokens_[i]), " and ", i, ")");
  }
  first_sid_ = static_cast<std::int64_t>(specials.size());
  first_word_ = first_sid_;
  while (first_word_ < vocab_size() && is_sid_text(tokens_[static_cast<std::size_t>(first_word_)])) ++first_word_;
}

WordTokenizer WordTokenizer::build(const SemanticIds& sids, const std::vector<std::string>& texts, std::int64_t tasks,
                                   std::int64_t min_count) {
  RG_CHECK(tasks >= 0 && tasks <= 64, "WordTokenizer: tasks must be in 0..64, got ", tasks);
  RG_CHECK(min_count >= 1, "WordTokenizer: min_count must be >= 1, got ", min_count);
  std::vector<std::string> tokens = special_tokens(tasks);
  for (std::int64_t level = 0; level < sids.levels(); ++level) {
    for (std::int64_t code = 0; code < sids.codebook_sizes[static_cast<std::size_t>(level)]; ++code) {
      tokens.push_back(semantic_token(level, code));
    }
  }
  std::map<std::string, std::int64_t> counts;
  for (const std::string& text : texts)
    for (std::string& word : split(text)) ++counts[std::move(word)];
  std::vector<std::pair<std::string, std::int64_t>> kept;
  for (auto& [word, count] : counts) {
    if (count >= min_count) kept.emplace_back(word, count);
  }
  std::stable_sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  for (auto& [word, count] : kept) tokens.push_back(word);
  return WordTokenizer(std::move(tokens), tasks, "WordTokenizer::build");
}

WordTokenizer WordTokenizer::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  RG_CHECK(in.good(), "WordTokenizer::load: cannot read '", path, "'");
  std::ostringstream text;
  text << in.rdbuf();
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::exception& error) {
    throw Error(path + ": not valid JSON: " + error.what());
  }
  RG_CHECK(json.is_object() && json.value("format", "") == kFormat, path, ": not a ", kFormat,
           " file (expected {\"format\": \"", kFormat, "\", \"tasks\": N, \"tokens\": [...]})");
  RG_CHECK(json.contains("tasks") && json["tasks"].is_number_integer(), path, ": \"tasks\" must be an integer");
  RG_CHECK(json.contains("tokens") && json["tokens"].is_array(), path, ": \"tokens\" must be an array of strings");
  std::vector<std::string> tokens;
  for (const auto& token : json["tokens"]) {
    RG_CHECK(token.is_string(), path, ": token ", tokens.size(), " is not a string");
    tokens.push_back(token.get<std::string>());
  }
  return WordTokenizer(std::move(tokens), json["tasks"].get<std::int64_t>(), path);
}

void WordTokenizer::save(const std::string& path) const {
  const nlohmann::json json = {{"format", kFormat}, {"tasks", tasks_}, {"tokens", tokens_}};
  write_file_atomically(path, json.dump() + "\n", "WordTokenizer::save");
}

std::vector<std::int64_t> WordTokenizer::encode(const std::string& text, std::int64_t max_words) const {
  std::vector<std::int64_t> ids;
  for (const std::string& word : split(text)) {
    if (max_words >= 0 && static_cast<std::int64_t>(ids.size()) >= max_words) break;
    const auto found = ids_.find(word);
    ids.push_back(found != ids_.end() && found->second >= first_word_ ? found->second : kUnk);
  }
  return ids;
}

std::string WordTokenizer::decode(const std::vector<std::int64_t>& ids) const {
  std::string text;
  for (const std::int64_t id : ids) {
    if (!text.empty()) text += ' ';
    text += token(id);
  }
  return text;
}

std::int64_t WordTokenizer::id_of(const std::string& token) const {
  const auto found = ids_.find(token);
  RG_CHECK(found != ids_.end(), "WordTokenizer: the token \"", token, "\" is not in the vocabulary");
  return found->second;
}

std::int64_t WordTokenizer::sid_token(std::int64_t level, std::int64_t code) const {
  return id_of(semantic_token(level, code));
}

std::int64_t WordTokenizer::task_token(std::int64_t task) const {
  RG_CHECK(task >= 0 && task < tasks_, "WordTokenizer: task ", task, " is not in 0..", tasks_ - 1);
  return kFirstTask + task;
}

const std::string& WordTokenizer::token(std::int64_t id) const {
  RG_CHECK(id >= 0 && id < vocab_size(), "WordTokenizer: token id ", id, " is not in 0..", vocab_size() - 1);
  return tokens_[static_cast<std::size_t>(id)];
}

}  // namespace recgrad::recsys
