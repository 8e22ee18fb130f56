// BpeTokenizer against tests/fixtures/make_tokenizer_fixtures.py: the exact ids of the reference encoder (an
// independent backtracking regex engine over the Qwen2 pattern, unicodedata, GPT-2's BPE loop) for fixed and
// random strings, round trips, added tokens, add_tokens, the NFC tables, and every refusal of bad input.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "datasets/bpe_tokenizer.h"
#include "datasets/unicode_categories.h"
#include "test_support.h"

namespace recgrad::datasets {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using recgrad::testing::expect_error;
using recgrad::testing::read_bytes;
using recgrad::testing::ScratchDir;
using recgrad::testing::write_bytes;

const std::string kTokenizerPath = std::string(RECGRAD_TEST_DATA_DIR) + "/datasets/tiny_qwen_tokenizer.json";
const std::string kCasesPath = std::string(RECGRAD_TEST_DATA_DIR) + "/datasets/tiny_qwen_tokenizer_cases.json";

const json& cases() {
  static const json data = json::parse(read_bytes(kCasesPath));
  return data;
}

const BpeTokenizer& tiny() {
  static const BpeTokenizer tok = BpeTokenizer::load(kTokenizerPath);
  return tok;
}

std::string utf8(char32_t code) {
  std::u32string one(1, code);
  std::string out;
  if (code < 0x80) {
    out.push_back(static_cast<char>(code));
  } else if (code < 0x800) {
    out += {static_cast<char>(0xC0 | (code >> 6)), static_cast<char>(0x80 | (code & 0x3F))};
  } else if (code < 0x10000) {
    out += {static_cast<char>(0xE0 | (code >> 12)), static_cast<char>(0x80 | ((code >> 6) & 0x3F)),
            static_cast<char>(0x80 | (code & 0x3F))};
  } else {
    out += {static_cast<char>(0xF0 | (code >> 18)), static_cast<char>(0x80 | ((code >> 12) & 0x3F)),
            static_cast<char>(0x80 | ((code >> 6) & 0x3F)), static_cast<char>(0x80 | (code & 0x3F))};
  }
  return out;
}

std::string utf8(const std::u32string& codes) {
  std::string out;
  for (const char32_t code : codes) out += utf8(code);
  return out;
}

std::u32string code_points(const std::string& text) {
  std::u32string out;
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const std::size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    char32_t code = length == 1 ? lead : lead & (0x7F >> length);
    for (std::size_t k = 1; k < length; ++k) code = (code << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    out.push_back(code);
    i += length;
  }
  return out;
}

json tiny_json() { return json::parse(read_bytes(kTokenizerPath)); }

// ---- the fixture ----

TEST(BpeTokenizer, LoadsTheQwen2Layout) {
  const BpeTokenizer& tok = tiny();
  EXPECT_EQ(tok.vocab_size(), cases()["vocab_size"].get<std::int64_t>());
  EXPECT_EQ(tok.id_of("<|endoftext|>"), tok.vocab_size() - 3);
  EXPECT_EQ(tok.id_of("<|im_start|>"), tok.vocab_size() - 2);
  EXPECT_EQ(tok.id_of("<|im_end|>"), tok.vocab_size() - 1);
  EXPECT_TRUE(tok.is_special(tok.id_of("<|im_end|>")));
  EXPECT_FALSE(tok.is_special(tok.id_of("a")));
  // The byte-level alphabet: space is U+0120 'Ġ', newline U+010A 'Ċ', '!' itself.
  EXPECT_EQ(tok.token_of(tok.id_of("\xC4\xA0")), "\xC4\xA0");
  EXPECT_EQ(tok.decode({tok.id_of("\xC4\xA0"), tok.id_of("\xC4\x8A"), tok.id_of("!")}), " \n!");
  EXPECT_TRUE(tok.contains("<|im_start|>"));
  EXPECT_FALSE(tok.contains("<|im_start"));
  EXPECT_EQ(std::string(unicode::tables_version()), cases()["unicode_version"].get<std::string>());
}

TEST(BpeTokenizer, EncodesEveryFixtureCaseExactly) {
  const BpeTokenizer& tok = tiny();
  std::int64_t checked = 0, fixed = 0;
  for (const json& item : cases()["cases"]) {
    const std::string text = item["text"].get<std::string>();
    EXPECT_EQ(tok.encode(text), item["ids"].get<std::vector<std::int64_t>>()) << "text: " << json(text).dump();
    ++checked;
    fixed += item["kind"] == "fixed";
  }
  EXPECT_GE(fixed, 35);
  EXPECT_GE(checked, 300);
}

TEST(BpeTokenizer, PreTokenizesEveryFixtureCaseExactly) {
  // The pieces, not only the ids: two different splits can give the same ids on a vocabulary this small.
  const BpeTokenizer& tok = tiny();
  for (const json& item : cases()["cases"]) {
    const std::string text = item["text"].get<std::string>();
    EXPECT_EQ(tok.pieces(text), item["pieces"].get<std::vector<std::string>>()) << "text: " << json(text).dump();
  }
  EXPECT_EQ(tok.pieces("a   b"), (std::vector<std::string>{"a", "  ", " b"}));
}

TEST(BpeTokenizer, DecodeInvertsEncode) {
  const BpeTokenizer& tok = tiny();
  for (const json& item : cases()["cases"]) {
    const std::string text = item["text"].get<std::string>();
    // The normalizer is NFC, so the text comes back in NFC (the same text when it was NFC already).
    EXPECT_EQ(tok.decode(tok.encode(text)), item["nfc"].get<std::string>()) << "text: " << json(text).dump();
  }
}

TEST(BpeTokenizer, RoundTripsRandomUtf8) {
  const BpeTokenizer& tok = tiny();
  // Without the normalizer, any valid UTF-8 comes back byte for byte (combining marks, unassigned and private
  // use code points, controls included).
  ScratchDir dir;
  json raw = tiny_json();
  raw["normalizer"] = nullptr;
  const BpeTokenizer plain = BpeTokenizer::load(dir.write("plain.json", raw.dump()));

  std::mt19937 rng(7);
  const std::vector<std::pair<char32_t, char32_t>> blocks = {
      {0x00, 0x7F},     {0x20, 0x7E},     {0xA0, 0x24F},    {0x300, 0x36F},     {0x400, 0x4FF},
      {0x600, 0x6FF},   {0x1100, 0x11FF}, {0x2000, 0x206F}, {0x3000, 0x30FF},   {0x4E00, 0x9FFF},
      {0xAC00, 0xD7A3}, {0xE000, 0xF8FF}, {0xFE00, 0xFFFD}, {0x1F300, 0x1FAFF}, {0x10000, 0x10FFFF}};
  for (int round = 0; round < 400; ++round) {
    std::u32string codes;
    const int length = std::uniform_int_distribution<int>(1, 30)(rng);
    for (int i = 0; i < length; ++i) {
      const auto& [low, high] = blocks[std::uniform_int_distribution<std::size_t>(0, blocks.size() - 1)(rng)];
      char32_t code = std::uniform_int_distribution<char32_t>(low, high)(rng);
      if (code >= 0xD800 && code <= 0xDFFF) code = 0xFFFD;  // surrogates are not characters
      codes.push_back(code);
    }
    const std::string text = utf8(codes);
    EXPECT_EQ(plain.decode(plain.encode(text)), text) << "text: " << json(text).dump();
    EXPECT_EQ(tok.decode(tok.encode(text)), utf8(unicode::nfc(codes))) << "text: " << json(text).dump();
  }
}

TEST(BpeTokenizer, MergesAsPairsGiveTheSameIds) {
  // Recent `tokenizers` versions write each merge as a pair ["a", "b"] instead of "a b".
  ScratchDir dir;
  json pairs = tiny_json();
  json merges = json::array();
  for (const json& merge : pairs["model"]["merges"]) {
    const std::string line = merge.get<std::string>();
    const std::size_t space = line.find(' ');
    merges.push_back(json::array({line.substr(0, space), line.substr(space + 1)}));
  }
  pairs["model"]["merges"] = merges;
  const BpeTokenizer tok = BpeTokenizer::load(dir.write("pairs.json", pairs.dump()));
  for (const json& item : cases()["cases"]) {
    EXPECT_EQ(tok.encode(item["text"].get<std::string>()), item["ids"].get<std::vector<std::int64_t>>());
  }
}

TEST(BpeTokenizer, AddedTokensAreSplitOutAndDecodedVerbatim) {
  const BpeTokenizer& tok = tiny();
  const std::int64_t start = tok.id_of("<|im_start|>"), end = tok.id_of("<|im_end|>");
  const std::vector<std::int64_t> ids = tok.encode("<|im_start|>user<|im_end|>");
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ids.front(), start);
  EXPECT_EQ(ids.back(), end);
  // The text between added tokens is encoded on its own: never merged with a token's characters.
  std::vector<std::int64_t> expected = {start};
  for (const std::int64_t id : tok.encode("user")) expected.push_back(id);
  expected.push_back(end);
  EXPECT_EQ(ids, expected);
  EXPECT_EQ(tok.decode({end, start, end}), "<|im_end|><|im_start|><|im_end|>");
  EXPECT_EQ(tok.token_of(start), "<|im_start|>");
}

TEST(BpeTokenizer, AddTokensAppendsIdsAndMatchesTheReference) {
  BpeTokenizer tok = BpeTokenizer::load(kTokenizerPath);
  const json& later = cases()["added_later"];
  const std::int64_t before = tok.vocab_size();
  // "<|im_start|>" exists already and is skipped.
  EXPECT_EQ(tok.add_tokens(later["tokens"].get<std::vector<std::string>>()), 4);
  EXPECT_EQ(tok.vocab_size(), before + 4);
  for (const auto& [content, id] : later["ids"].items()) {
    EXPECT_EQ(tok.token_of(id.get<std::int64_t>()), content);
  }
  EXPECT_EQ(tok.id_of("<a_12>"), before);
  EXPECT_EQ(tok.id_of("<a_1>"), before + 1);
  EXPECT_FALSE(tok.is_special(before));
  for (const json& item : later["cases"]) {
    const std::string text = item["text"].get<std::string>();
    EXPECT_EQ(tok.encode(text), item["ids"].get<std::vector<std::int64_t>>()) << "text: " << json(text).dump();
    EXPECT_EQ(tok.pieces(text), item["pieces"].get<std::vector<std::string>>()) << "text: " << json(text).dump();
  }
  EXPECT_EQ(tok.decode({tok.id_of("<a_12>"), tok.id_of("<b_7>")}), "<a_12><b_7>");
  EXPECT_EQ(tok.add_tokens({"<a_12>", "<a_1>"}), 0);
  EXPECT_EQ(tok.add_tokens({"<c_0>"}), 1);
  EXPECT_EQ(tok.id_of("<c_0>"), before + 4);
  expect_error([&] { tok.add_tokens({"<ok>", ""}); }, {"add_tokens", "token 1 is empty"});
  expect_error([&] { tok.add_tokens({std::string("\xff")}); }, {"add_tokens", "not valid UTF-8", "byte offset 0"});
}

// save() writes the added tokens into added_tokens: the saved file loads with the same ids, specials and
// encodings (the reference cases, added tokens included), and saving it again changes nothing.
TEST(BpeTokenizer, SaveWritesTheAddedTokens) {
  BpeTokenizer tok = BpeTokenizer::load(kTokenizerPath);
  const json& later = cases()["added_later"];
  tok.add_tokens(later["tokens"].get<std::vector<std::string>>());
  const std::string path = (fs::path(::testing::TempDir()) / "recgrad_saved_tokenizer.json").string();
  tok.save(path);
  const BpeTokenizer loaded = BpeTokenizer::load(path);
  ASSERT_EQ(loaded.vocab_size(), tok.vocab_size());
  for (std::int64_t id = 0; id < tok.vocab_size(); ++id) {
    EXPECT_EQ(loaded.token_of(id), tok.token_of(id)) << "id " << id;
    EXPECT_EQ(loaded.is_special(id), tok.is_special(id)) << "id " << id;
  }
  for (const json& item : later["cases"]) {
    const std::string text = item["text"].get<std::string>();
    EXPECT_EQ(loaded.encode(text), item["ids"].get<std::vector<std::int64_t>>()) << "text: " << json(text).dump();
  }
  for (const json& item : cases()["cases"]) {
    const std::string text = item["text"].get<std::string>();
    EXPECT_EQ(loaded.encode(text), tok.encode(text)) << "text: " << json(text).dump();
  }
  const std::string again = (fs::path(::testing::TempDir()) / "recgrad_saved_tokenizer_again.json").string();
  loaded.save(again);
  EXPECT_EQ(read_bytes(again), read_bytes(path));
}

TEST(BpeTokenizer, IgnoreMergesTakesAPieceThatIsInTheVocabulary) {
  ScratchDir dir;
  json data = tiny_json();
  const std::int64_t id = static_cast<std::int64_t>(data["model"]["vocab"].size()) + 3;  // after the added tokens
  data["model"]["vocab"]["\xC4\xA0qzx"] = id;  // "Ġqzx", which no merge spells
  const BpeTokenizer with_merges = BpeTokenizer::load(dir.write("merges.json", data.dump()));
  EXPECT_GT(with_merges.encode(" qzx").size(), 1u);
  data["model"]["ignore_merges"] = true;
  const BpeTokenizer ignoring = BpeTokenizer::load(dir.write("ignore.json", data.dump()));
  EXPECT_EQ(ignoring.encode(" qzx"), std::vector<std::int64_t>{id});
  EXPECT_EQ(ignoring.decode({id}), " qzx");
  EXPECT_EQ(ignoring.encode(" qzy"), with_merges.encode(" qzy"));
}

TEST(BpeTokenizer, NfcMatchesUnicodedata) {
  std::int64_t checked = 0;
  for (const json& item : cases()["nfc_cases"]) {
    const std::string text = item["text"].get<std::string>();
    EXPECT_EQ(utf8(unicode::nfc(code_points(text))), item["nfc"].get<std::string>()) << "text: " << json(text).dump();
    ++checked;
  }
  EXPECT_GE(checked, 4000);
}

TEST(BpeTokenizer, UnicodeClasses) {
  EXPECT_TRUE(unicode::is_letter(U'a'));
  EXPECT_TRUE(unicode::is_letter(U'推'));
  EXPECT_TRUE(unicode::is_letter(0x17F));
  EXPECT_FALSE(unicode::is_letter(U'1'));
  EXPECT_FALSE(unicode::is_letter(0x301));  // a combining mark is Mn, not L
  EXPECT_TRUE(unicode::is_number(U'7'));
  EXPECT_TRUE(unicode::is_number(0xB2));    // superscript two, No
  EXPECT_TRUE(unicode::is_number(0x216B));  // Roman numeral twelve, Nl
  EXPECT_TRUE(unicode::is_white_space(0x3000));
  EXPECT_TRUE(unicode::is_white_space(0x85));
  EXPECT_FALSE(unicode::is_white_space(0x1C));  // Python's isspace counts it; White_Space does not
  EXPECT_FALSE(unicode::is_white_space(0x200B));
  EXPECT_EQ(unicode::combining_class(0x301), 230);
  EXPECT_EQ(unicode::combining_class(U'a'), 0);
}

// ---- refusals ----

TEST(BpeTokenizerErrors, InvalidUtf8NamesTheOffset) {
  const BpeTokenizer& tok = tiny();
  expect_error([&] { tok.encode("ab\xff"); }, {"BpeTokenizer::encode", "not valid UTF-8", "byte offset 2", "0xFF"});
  expect_error([&] { tok.encode("x\xC0\x80"); }, {"byte offset 1", "0xC0"});             // overlong NUL
  expect_error([&] { tok.encode("\xED\xA0\x80"); }, {"byte offset 0", "0xED"});          // a surrogate
  expect_error([&] { tok.encode("\xF4\x90\x80\x80"); }, {"byte offset 0", "0xF4"});      // above U+10FFFF
  expect_error([&] { tok.encode("\xE6\x8E\xA8\xE8\x8D"); }, {"byte offset 3", "0xE8"});  // truncated at the end
  expect_error([&] { tok.encode("a\x80"); }, {"byte offset 1", "0x80"});                 // a lone continuation byte
}

TEST(BpeTokenizerErrors, UnknownIdsAndTokens) {
  const BpeTokenizer& tok = tiny();
  expect_error(
      [&] {
        tok.decode({0, tok.vocab_size()});
      },
      {"BpeTokenizer::decode", "id " + std::to_string(tok.vocab_size()), "position 1"});
  expect_error([&] { tok.decode({-1}); }, {"BpeTokenizer::decode", "id -1"});
  expect_error([&] { tok.token_of(1 << 20); }, {"token_of", "id 1048576"});
  expect_error([&] { tok.id_of("<|nope|>"); }, {"id_of", "<|nope|>", "not a token"});
}

// Loads `data` (written to a temp file) and expects an Error naming the file and each of `parts`.
void expect_load_error(const std::string& data, const std::vector<std::string>& parts) {
  ScratchDir dir;
  const std::string path = dir.write("bad_tokenizer.json", data);
  std::vector<std::string> all = {"BpeTokenizer::load", path};
  all.insert(all.end(), parts.begin(), parts.end());
  expect_error([&] { BpeTokenizer::load(path); }, all);
}

TEST(BpeTokenizerErrors, MalformedFiles) {
  expect_error([] { BpeTokenizer::load("/nonexistent/tokenizer.json"); }, {"/nonexistent/tokenizer.json"});
  expect_load_error("{\"model\": {", {"not valid JSON"});
  expect_load_error("[1, 2]", {"not a JSON object"});

  json data = tiny_json();
  data["model"]["type"] = "WordPiece";
  expect_load_error(data.dump(), {"model.type", "WordPiece", "only \"BPE\""});

  data = tiny_json();
  data.erase("model");
  expect_load_error(data.dump(), {"has no \"model\" field"});

  data = tiny_json();
  data["model"].erase("vocab");
  expect_load_error(data.dump(), {"model has no \"vocab\" field"});

  data = tiny_json();
  data["model"].erase("merges");
  expect_load_error(data.dump(), {"model has no \"merges\" field"});

  data = tiny_json();
  data["model"]["merges"].push_back("a zzzz");
  const std::string last = std::to_string(data["model"]["merges"].size() - 1);
  expect_load_error(data.dump(), {"model.merges[" + last + "]", "\"zzzz\"", "not in model.vocab"});

  data = tiny_json();
  data["model"]["merges"].push_back("q z");  // both bytes exist, "qz" does not
  expect_load_error(data.dump(), {"merges into \"qz\"", "not in model.vocab"});

  data = tiny_json();
  data["model"]["merges"][3] = "a b c";
  expect_load_error(data.dump(), {"model.merges[3]", "\"a b c\"", "one space"});

  data = tiny_json();
  data["model"]["merges"][5] = json::array({"a"});
  expect_load_error(data.dump(), {"model.merges[5]", "expected"});

  data = tiny_json();
  data["model"]["vocab"]["zzzz"] = 5;
  expect_load_error(data.dump(), {"\"zzzz\"", "id 5", "duplicate id"});

  data = tiny_json();
  data["model"]["vocab"]["a"] = "seven";
  expect_load_error(data.dump(), {"model.vocab[\"a\"]", "integer id"});

  data = tiny_json();
  data["added_tokens"][1]["id"] = 7;
  expect_load_error(data.dump(), {"added_tokens[1]", "<|im_start|>", "id 7", "duplicate id"});

  data = tiny_json();
  data["added_tokens"][0].erase("content");
  expect_load_error(data.dump(), {"added_tokens[0] has no \"content\" field"});

  data = tiny_json();
  data["added_tokens"][0]["lstrip"] = true;
  expect_load_error(data.dump(), {"added_tokens[0]", "lstrip", "not supported"});

  data = tiny_json();
  data["model"]["vocab"].erase("\xC4\x8A");  // the byte-level token of '\n'
  expect_load_error(data.dump(), {"lacks the byte-level token", "0x0A"});

  data = tiny_json();
  data["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\s+";
  expect_load_error(data.dump(), {"pre_tokenizer.pretokenizers[0].pattern.Regex", "only Qwen2's pattern"});

  data = tiny_json();
  data["pre_tokenizer"]["pretokenizers"][1]["use_regex"] = true;
  expect_load_error(data.dump(), {"pretokenizers[1]", "use_regex false"});

  data = tiny_json();
  data["normalizer"] = {{"type", "NFKC"}};
  expect_load_error(data.dump(), {"normalizer.type", "NFKC"});

  data = tiny_json();
  data["decoder"] = {{"type", "Metaspace"}};
  expect_load_error(data.dump(), {"decoder.type", "Metaspace"});

  data = tiny_json();
  data["model"]["dropout"] = 0.1;
  expect_load_error(data.dump(), {"model.dropout", "0.1"});

  data = tiny_json();
  data["model"]["byte_fallback"] = true;
  expect_load_error(data.dump(), {"model.byte_fallback"});
}

}  // namespace
}  // namespace recgrad::datasets
