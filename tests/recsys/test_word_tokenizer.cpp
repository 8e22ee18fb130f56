// MiniOneRec's built-in word tokenizer (recsys/generative/word_tokenizer.h): the vocabulary's layout (specials,
// task tokens, every SID token, words by count above the minimum), splitting and lower-casing, <unk> for unseen
// words, save/load round trip, and clear errors for a missing token and for bad files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "recsys/generative/word_tokenizer.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::recsys;
using recgrad::testing::expect_error;

namespace {

SemanticIds two_level_ids() {
  SemanticIds ids;
  ids.num_items = 3;
  ids.codebook_sizes = {2, 3};
  ids.codes = {0, 0, 0, 1, 1, 2, 1, 0};
  return ids;
}

std::string scratch_file(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("recgrad_word_tokenizer_" + name)).string();
}

}  // namespace

TEST(WordTokenizer, SplitsLowerCasesAndKeepsPunctuation) {
  EXPECT_EQ(WordTokenizer::split("  Relay/CAPACITOR kit, 500%!\tcafé"),
            (std::vector<std::string>{"relay", "/", "capacitor", "kit", ",", "500", "%", "!", "café"}));
  EXPECT_TRUE(WordTokenizer::split(" \n\t ").empty());
}

TEST(WordTokenizer, VocabularyLayout) {
  const WordTokenizer tokenizer =
      WordTokenizer::build(two_level_ids(), {"Blue Kit", "blue pen", "red kit", "kit", "once"}, 3, 2);
  // 6 specials + 3 task tokens, 2 + 3 SID tokens, then "kit" (3) and "blue" (2); "pen", "red", "once" are rare.
  EXPECT_EQ(tokenizer.vocab_size(), 9 + 5 + 2);
  EXPECT_EQ(tokenizer.token(WordTokenizer::kEos), "<eos>");
  EXPECT_EQ(tokenizer.token(WordTokenizer::kItem), "<item>");
  EXPECT_EQ(tokenizer.task_token(2), 8);
  EXPECT_EQ(tokenizer.token(8), "<task_2>");
  EXPECT_EQ(tokenizer.sid_token(0, 0), 9);
  EXPECT_EQ(tokenizer.sid_token(1, 2), 13);
  EXPECT_TRUE(tokenizer.is_sid_token(13));
  EXPECT_FALSE(tokenizer.is_sid_token(14));
  EXPECT_EQ(tokenizer.token(14), "kit");
  EXPECT_EQ(tokenizer.token(15), "blue");
  EXPECT_EQ(tokenizer.encode("Blue PEN kit"), (std::vector<std::int64_t>{15, WordTokenizer::kUnk, 14}));
  EXPECT_EQ(tokenizer.encode("blue kit kit", 2), (std::vector<std::int64_t>{15, 14}));
  EXPECT_EQ(tokenizer.decode({1, 9, 13, 2}), "<bos> <a_0> <b_2> <eos>");
  // A word spelled like a special or an SID token is text, not that token.
  EXPECT_EQ(tokenizer.encode("<a_0>"), std::vector<std::int64_t>(5, WordTokenizer::kUnk));  // < a _ 0 >
}

TEST(WordTokenizer, MissingTokensAndIdsAreErrors) {
  const WordTokenizer tokenizer = WordTokenizer::build(two_level_ids(), {}, 1, 2);
  expect_error([&] { tokenizer.sid_token(1, 7); }, {"the token \"<b_7>\" is not in the vocabulary"});
  expect_error([&] { tokenizer.sid_token(2, 0); }, {"\"<c_0>\""});
  expect_error([&] { tokenizer.task_token(1); }, {"task 1 is not in 0..0"});
  expect_error([&] { tokenizer.decode({99}); }, {"token id 99 is not in 0..11"});  // 6 + 1 + 5 tokens
}

TEST(WordTokenizer, SaveAndLoadRoundTrip) {
  const WordTokenizer tokenizer = WordTokenizer::build(two_level_ids(), {"a kit", "a pen", "kit"}, 2, 2);
  const std::string path = scratch_file("round_trip.json");
  tokenizer.save(path);
  const WordTokenizer again = WordTokenizer::load(path);
  ASSERT_EQ(again.vocab_size(), tokenizer.vocab_size());
  for (std::int64_t id = 0; id < tokenizer.vocab_size(); ++id) EXPECT_EQ(again.token(id), tokenizer.token(id));
  EXPECT_EQ(again.tasks(), 2);
  EXPECT_EQ(again.encode("A kit pen"), tokenizer.encode("A kit pen"));
}

TEST(WordTokenizer, BadFilesAreRefused) {
  const std::string path = scratch_file("bad.json");
  const auto write = [&](const std::string& text) { std::ofstream(path) << text; };
  write("{not json");
  expect_error([&] { WordTokenizer::load(path); }, {path, "not valid JSON"});
  write("{\"format\": \"other\"}");
  expect_error([&] { WordTokenizer::load(path); }, {path, "not a recgrad-word-tokenizer file"});
  write("{\"format\": \"recgrad-word-tokenizer\", \"tasks\": 0, \"tokens\": [\"<pad>\", \"<bos>\"]}");
  expect_error([&] { WordTokenizer::load(path); }, {path, "must start with the special tokens"});
  write(
      "{\"format\": \"recgrad-word-tokenizer\", \"tasks\": 0, \"tokens\": [\"<pad>\", \"<bos>\", \"<eos>\", "
      "\"<unk>\", \"<sep>\", \"<item>\", \"kit\", \"kit\"]}");
  expect_error([&] { WordTokenizer::load(path); }, {path, "the token \"kit\" appears twice (ids 6 and 7)"});
  expect_error([&] { WordTokenizer::load(scratch_file("absent.json")); }, {"cannot read"});
}
