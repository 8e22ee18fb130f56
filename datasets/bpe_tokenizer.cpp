#include "datasets/bpe_tokenizer.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <queue>

#include "core/atomic_file.h"
#include "core/error.h"
#include "datasets/csv.h"
#include "datasets/unicode_categories.h"

namespace recgrad::datasets {
namespace {

using nlohmann::json;

// The Split pattern of Qwen2's pre-tokenizer, which split_qwen2 implements.
constexpr std::string_view kQwen2Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Ids must lie below this bound (the largest vocabularies in use have about 2^18 tokens).
constexpr std::int64_t kMaxId = std::int64_t{1} << 24;

std::string hex_byte(unsigned char byte) {
  char text[8];
  std::snprintf(text, sizeof(text), "0x%02X", byte);
  return text;
}

void append_utf8(char32_t code, std::string& out) {
  if (code < 0x80) {
    out.push_back(static_cast<char>(code));
  } else if (code < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code >> 6)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else if (code < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  }
}

// The length of the well-formed UTF-8 sequence at text[pos] (Unicode table 3-7: no overlong forms, no
// surrogates, nothing above U+10FFFF), or 0 when there is none.
std::size_t utf8_length(std::string_view text, std::size_t pos) {
  const auto byte = [&](std::size_t i) {
    return pos + i < text.size() ? static_cast<unsigned char>(text[pos + i]) : 0;
  };
  const unsigned char lead = byte(0);
  const auto continuation = [&](std::size_t i, unsigned char low = 0x80, unsigned char high = 0xBF) {
    return pos + i < text.size() && byte(i) >= low && byte(i) <= high;
  };
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return continuation(1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    const unsigned char low = lead == 0xE0 ? 0xA0 : 0x80, high = lead == 0xED ? 0x9F : 0xBF;
    return continuation(1, low, high) && continuation(2) ? 3 : 0;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    const unsigned char low = lead == 0xF0 ? 0x90 : 0x80, high = lead == 0xF4 ? 0x8F : 0xBF;
    return continuation(1, low, high) && continuation(2) && continuation(3) ? 4 : 0;
  }
  return 0;
}

// Throws unless `text` is well-formed UTF-8, naming the offset of the first bad sequence.
void check_utf8(std::string_view text, const std::string& what) {
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t length = utf8_length(text, pos);
    RG_CHECK(length != 0, what, ": the text is not valid UTF-8 at byte offset ", pos, " (byte ",
             hex_byte(static_cast<unsigned char>(text[pos])), ")");
    pos += length;
  }
}

// The code points of well-formed UTF-8 `text`, and the byte offset of each (plus text.size() at the end).
void decode_utf8(std::string_view text, std::u32string& codes, std::vector<std::size_t>& offsets) {
  codes.clear();
  offsets.clear();
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t length = utf8_length(text, pos);
    const auto lead = static_cast<unsigned char>(text[pos]);
    char32_t code = length == 1 ? lead : lead & (0x7F >> length);
    for (std::size_t i = 1; i < length; ++i) code = (code << 6) | (static_cast<unsigned char>(text[pos + i]) & 0x3F);
    codes.push_back(code);
    offsets.push_back(pos);
    pos += length;
  }
  offsets.push_back(text.size());
}

// GPT-2's byte-level alphabet: the character that stands for each byte.
const std::array<char32_t, 256>& byte_to_unicode() {
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> map{};
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      map[static_cast<std::size_t>(b)] = printable ? static_cast<char32_t>(b) : next++;
    }
    return map;
  }();
  return table;
}

// The UTF-8 spelling of each byte's byte-level character.
const std::array<std::string, 256>& byte_chars() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> chars;
    for (std::size_t b = 0; b < 256; ++b) append_utf8(byte_to_unicode()[b], chars[b]);
    return chars;
  }();
  return table;
}

// The byte a byte-level character stands for (indexed by code point), or -1.
const std::array<int, 324>& unicode_to_byte() {
  static const std::array<int, 324> table = [] {
    std::array<int, 324> map;
    map.fill(-1);
    for (int b = 0; b < 256; ++b) map[byte_to_unicode()[static_cast<std::size_t>(b)]] = b;
    return map;
  }();
  return table;
}

// ---- the Qwen2 pre-tokenizer, alternative by alternative (each returns the match length at i, or 0) ----

bool is_crlf(char32_t c) { return c == U'\r' || c == U'\n'; }
// [^\s\p{L}\p{N}]
bool is_other(char32_t c) { return !unicode::is_white_space(c) && !unicode::is_letter(c) && !unicode::is_number(c); }

// (?i:'s|'t|'re|'ve|'m|'ll|'d); under Unicode case folding 's' also matches U+017F (long s).
std::size_t match_contraction(const std::u32string& s, std::size_t i) {
  if (s[i] != U'\'' || i + 1 >= s.size()) return 0;
  const auto is = [&](std::size_t k, char32_t lower) {
    return k < s.size() && (s[k] == lower || s[k] == lower - 32 || (lower == U's' && s[k] == 0x17F));
  };
  if (is(i + 1, U's') || is(i + 1, U't') || is(i + 1, U'm') || is(i + 1, U'd')) return 2;
  if ((is(i + 1, U'r') && is(i + 2, U'e')) || (is(i + 1, U'v') && is(i + 2, U'e')) ||
      (is(i + 1, U'l') && is(i + 2, U'l'))) {
    return 3;
  }
  return 0;
}

// [^\r\n\p{L}\p{N}]?\p{L}+
std::size_t match_word(const std::u32string& s, std::size_t i) {
  std::size_t j = i;
  if (!unicode::is_letter(s[j])) {
    if (is_crlf(s[j]) || unicode::is_number(s[j]) || j + 1 >= s.size() || !unicode::is_letter(s[j + 1])) return 0;
    ++j;
  }
  while (j < s.size() && unicode::is_letter(s[j])) ++j;
  return j - i;
}

// ` ?[^\s\p{L}\p{N}]+[\r\n]*`
std::size_t match_punctuation(const std::u32string& s, std::size_t i) {
  std::size_t j = i;
  if (s[j] == U' ' && j + 1 < s.size() && is_other(s[j + 1])) ++j;
  if (!is_other(s[j])) return 0;
  while (j < s.size() && is_other(s[j])) ++j;
  while (j < s.size() && is_crlf(s[j])) ++j;
  return j - i;
}

// \s*[\r\n]+ | \s+(?!\S) | \s+  on the white-space run that starts at i.
std::size_t match_space(const std::u32string& s, std::size_t i) {
  std::size_t end = i;
  while (end < s.size() && unicode::is_white_space(s[end])) ++end;
  if (end == i) return 0;
  // \s*[\r\n]+: \s* backs off from the whole run to the last line break in it.
  for (std::size_t k = end; k > i; --k) {
    if (is_crlf(s[k - 1])) return k - i;
  }
  // \s+(?!\S): the whole run at the end of the text, else all of it but the last character (if that leaves one).
  if (end == s.size()) return end - i;
  if (end - i >= 2) return end - i - 1;
  return 1;  // \s+
}

// The pieces [begin, end) (in code points) that Qwen2's Split pre-tokenizer cuts `s` into.
std::vector<std::pair<std::size_t, std::size_t>> split_qwen2(const std::u32string& s) {
  std::vector<std::pair<std::size_t, std::size_t>> pieces;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t length = match_contraction(s, i);
    if (length == 0) length = match_word(s, i);
    if (length == 0 && unicode::is_number(s[i])) length = 1;
    if (length == 0) length = match_punctuation(s, i);
    if (length == 0) length = match_space(s, i);
    // Every character is a letter, a number, white space or [^\s\p{L}\p{N}], so some alternative matched.
    pieces.emplace_back(i, i + length);
    i += length;
  }
  return pieces;
}

// ---- tokenizer.json access with messages naming the file and the field ----

struct JsonReader {
  const std::string& path;

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(detail::concat("BpeTokenizer::load: ", path, ": ", what));
  }
  const json& field(const json& object, const std::string& key, const std::string& where) const {
    if (!object.is_object()) fail(where + " is not a JSON object");
    auto it = object.find(key);
    if (it == object.end()) fail(where + " has no \"" + key + "\" field");
    return *it;
  }
  // The field, or nullptr when it is absent or null.
  const json* optional(const json& object, const std::string& key) const {
    auto it = object.find(key);
    return it == object.end() || it->is_null() ? nullptr : &*it;
  }
  std::string string(const json& value, const std::string& where) const {
    if (!value.is_string()) fail(where + " must be a string, got " + value.dump());
    return value.get<std::string>();
  }
  bool flag(const json& object, const std::string& key, const std::string& where, bool fallback) const {
    const json* value = optional(object, key);
    if (value == nullptr) return fallback;
    if (!value->is_boolean()) fail(where + "." + key + " must be true or false, got " + value->dump());
    return value->get<bool>();
  }
  std::int64_t id(const json& value, const std::string& where) const {
    if (!value.is_number_integer() || value.get<std::int64_t>() < 0 || value.get<std::int64_t>() >= kMaxId) {
      fail(where + " must be an integer id in 0.." + std::to_string(kMaxId - 1) + ", got " + value.dump());
    }
    return value.get<std::int64_t>();
  }
  std::string type(const json& object, const std::string& where) const {
    return string(field(object, "type", where), where + ".type");
  }
};

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

}  // namespace

// ---- the added-token trie ----

void BpeTokenizer::Trie::insert(std::string_view text, std::int64_t id) {
  std::int32_t node = 0;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    auto& children = nodes[static_cast<std::size_t>(node)].children;
    auto it = std::lower_bound(children.begin(), children.end(), byte,
                               [](const auto& child, unsigned char b) { return child.first < b; });
    if (it != children.end() && it->first == byte) {
      node = it->second;
      continue;
    }
    const auto next = static_cast<std::int32_t>(nodes.size());
    children.insert(it, {byte, next});
    nodes.emplace_back();
    node = next;
  }
  nodes[static_cast<std::size_t>(node)].id = id;
}

std::pair<std::int64_t, std::size_t> BpeTokenizer::Trie::longest_at(std::string_view text, std::size_t pos) const {
  std::pair<std::int64_t, std::size_t> best{-1, 0};
  std::size_t node = 0;
  for (std::size_t i = pos; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const auto& children = nodes[node].children;
    auto it = std::lower_bound(children.begin(), children.end(), byte,
                               [](const auto& child, unsigned char b) { return child.first < b; });
    if (it == children.end() || it->first != byte) break;
    node = static_cast<std::size_t>(it->second);
    if (nodes[node].id >= 0) best = {nodes[node].id, i + 1 - pos};
  }
  return best;
}

// ---- loading ----

void BpeTokenizer::set_token(std::int64_t id, const std::string& token, const std::string& what) {
  if (static_cast<std::size_t>(id) >= tokens_.size()) {
    tokens_.resize(static_cast<std::size_t>(id) + 1);
    has_token_.resize(static_cast<std::size_t>(id) + 1, 0);
  }
  RG_CHECK(!has_token_[static_cast<std::size_t>(id)], "BpeTokenizer::load: ", path_, ": ", what, " ", quoted(token),
           " has id ", id, ", which ", quoted(tokens_[static_cast<std::size_t>(id)]), " already has (duplicate id)");
  tokens_[static_cast<std::size_t>(id)] = token;
  has_token_[static_cast<std::size_t>(id)] = 1;
  ids_.emplace(token, id);
}

BpeTokenizer BpeTokenizer::load(const std::string& tokenizer_json_path) {
  BpeTokenizer tok;
  tok.path_ = tokenizer_json_path;
  const JsonReader in{tok.path_};
  tok.source_text_ = read_text_file(tokenizer_json_path);
  const std::string& text = tok.source_text_;
  json root;
  try {
    root = json::parse(text);
  } catch (const json::exception& error) {
    in.fail(std::string("not valid JSON (") + error.what() + ")");
  }
  if (!root.is_object()) in.fail("the top level is not a JSON object");

  try {
    // model: BPE over GPT-2's byte-level alphabet.
    const json& model = in.field(root, "model", "the file");
    const std::string model_type = in.type(model, "model");
    if (model_type != "BPE") in.fail("model.type is " + quoted(model_type) + "; only \"BPE\" is supported");
    if (const json* dropout = in.optional(model, "dropout");
        dropout != nullptr && !(dropout->is_number() && dropout->get<double>() == 0.0)) {
      in.fail("model.dropout is " + dropout->dump() + "; only null (no BPE dropout) is supported");
    }
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
      if (const json* value = in.optional(model, key); value != nullptr && *value != "") {
        in.fail(std::string("model.") + key + " is " + value->dump() + "; byte-level BPE uses none");
      }
    }
    if (in.flag(model, "byte_fallback", "model", false)) in.fail("model.byte_fallback is true; not supported");
    tok.ignore_merges_ = in.flag(model, "ignore_merges", "model", false);

    const json& vocab = in.field(model, "vocab", "model");
    if (!vocab.is_object()) in.fail("model.vocab must be an object mapping tokens to ids");
    for (const auto& [token, id] : vocab.items()) {
      tok.set_token(in.id(id, "model.vocab[" + quoted(token) + "]"), token, "model.vocab token");
    }
    for (std::size_t b = 0; b < 256; ++b) {
      auto it = tok.ids_.find(byte_chars()[b]);
      if (it == tok.ids_.end()) {
        in.fail("model.vocab lacks the byte-level token " + quoted(byte_chars()[b]) + " of byte " +
                hex_byte(static_cast<unsigned char>(b)) + " (not a byte-level BPE vocabulary)");
      }
      tok.byte_ids_[b] = it->second;
    }

    const json& merges = in.field(model, "merges", "model");
    if (!merges.is_array()) in.fail("model.merges must be an array");
    for (std::size_t rank = 0; rank < merges.size(); ++rank) {
      const std::string where = "model.merges[" + std::to_string(rank) + "]";
      const json& merge = merges[rank];
      std::string left, right;
      if (merge.is_string()) {
        const std::string line = merge.get<std::string>();
        const std::size_t space = line.find(' ');
        if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos) {
          in.fail(where + " is " + quoted(line) + "; expected two tokens separated by one space");
        }
        left = line.substr(0, space);
        right = line.substr(space + 1);
      } else if (merge.is_array() && merge.size() == 2) {
        left = in.string(merge[0], where + "[0]");
        right = in.string(merge[1], where + "[1]");
      } else {
        in.fail(where + " is " + merge.dump() + "; expected \"a b\" or [\"a\", \"b\"]");
      }
      const auto id_in_vocab = [&](const std::string& token, const std::string& role) {
        auto it = tok.ids_.find(token);
        if (it == tok.ids_.end()) in.fail(where + " " + role + " " + quoted(token) + ", which is not in model.vocab");
        return it->second;
      };
      const std::int64_t a = id_in_vocab(left, "names"), b = id_in_vocab(right, "names");
      const std::int64_t merged = id_in_vocab(left + right, "merges into");
      // As in Hugging Face, a pair listed twice keeps its last rank.
      tok.merges_[static_cast<std::uint64_t>(a) << 32 | static_cast<std::uint64_t>(b)] = {
          static_cast<std::int32_t>(rank), merged};
    }

    // added_tokens: [{id, content, special, normalized, lstrip, rstrip, single_word}]
    if (const json* added = in.optional(root, "added_tokens")) {
      if (!added->is_array()) in.fail("added_tokens must be an array");
      for (std::size_t i = 0; i < added->size(); ++i) {
        const std::string where = "added_tokens[" + std::to_string(i) + "]";
        const json& entry = (*added)[i];
        const std::int64_t id = in.id(in.field(entry, "id", where), where + ".id");
        const std::string content = in.string(in.field(entry, "content", where), where + ".content");
        if (content.empty()) in.fail(where + ".content is empty");
        for (const char* key : {"lstrip", "rstrip", "single_word"}) {
          if (in.flag(entry, key, where, false)) {
            in.fail(where + " (" + quoted(content) + ") sets " + key + "; not supported");
          }
        }
        AddedToken token;
        token.content = content;
        token.special = in.flag(entry, "special", where, false);
        token.normalized = in.flag(entry, "normalized", where, !token.special);
        if (auto it = tok.ids_.find(content); it != tok.ids_.end()) {
          if (it->second != id || tok.added_.count(id) != 0) {
            in.fail(where + " " + quoted(content) + " has id " + std::to_string(id) + ", but " + quoted(content) +
                    " already has id " + std::to_string(it->second));
          }
          token.in_model = true;
        } else {
          tok.set_token(id, content, where);
        }
        tok.added_.emplace(id, std::move(token));
      }
    }

    // normalizer: NFC or none.
    if (const json* normalizer = in.optional(root, "normalizer")) {
      const std::string type = in.type(*normalizer, "normalizer");
      if (type != "NFC") in.fail("normalizer.type is " + quoted(type) + "; only \"NFC\" (or none) is supported");
      tok.nfc_ = true;
    }

    // pre_tokenizer: Sequence[Split(Qwen2 pattern, Isolated), ByteLevel(use_regex false)].
    const json& pre = in.field(root, "pre_tokenizer", "the file");
    if (pre.is_null()) in.fail("pre_tokenizer is null; expected Qwen2's Sequence of Split and ByteLevel");
    const std::string pre_type = in.type(pre, "pre_tokenizer");
    const json& steps = in.field(pre, "pretokenizers", "pre_tokenizer");
    if (pre_type != "Sequence" || !steps.is_array() || steps.size() != 2) {
      in.fail("pre_tokenizer must be Qwen2's Sequence of a Split and a ByteLevel pre-tokenizer");
    }
    const std::string split_type = in.type(steps[0], "pre_tokenizer.pretokenizers[0]");
    if (split_type != "Split")
      in.fail("pre_tokenizer.pretokenizers[0].type is " + quoted(split_type) + ", not \"Split\"");
    const json& pattern = in.field(steps[0], "pattern", "pre_tokenizer.pretokenizers[0]");
    const json& regex = in.field(pattern, "Regex", "pre_tokenizer.pretokenizers[0].pattern");
    if (in.string(regex, "pre_tokenizer.pretokenizers[0].pattern.Regex") != kQwen2Pattern) {
      in.fail("pre_tokenizer.pretokenizers[0].pattern.Regex is " + regex.dump() + "; only Qwen2's pattern " +
              json(std::string(kQwen2Pattern)).dump() + " is supported");
    }
    const std::string behavior =
        in.string(in.field(steps[0], "behavior", "pre_tokenizer.pretokenizers[0]"), "behavior");
    if (behavior != "Isolated" || in.flag(steps[0], "invert", "pre_tokenizer.pretokenizers[0]", false)) {
      in.fail("pre_tokenizer.pretokenizers[0] must have behavior \"Isolated\" and invert false");
    }
    const std::string level_type = in.type(steps[1], "pre_tokenizer.pretokenizers[1]");
    if (level_type != "ByteLevel" || in.flag(steps[1], "use_regex", "pre_tokenizer.pretokenizers[1]", true) ||
        in.flag(steps[1], "add_prefix_space", "pre_tokenizer.pretokenizers[1]", false)) {
      in.fail("pre_tokenizer.pretokenizers[1] must be ByteLevel with use_regex false and add_prefix_space false");
    }

    // decoder: ByteLevel; post_processor: ByteLevel or none (neither adds tokens nor changes bytes).
    const std::string decoder_type = in.type(in.field(root, "decoder", "the file"), "decoder");
    if (decoder_type != "ByteLevel") in.fail("decoder.type is " + quoted(decoder_type) + "; expected \"ByteLevel\"");
    if (const json* post = in.optional(root, "post_processor")) {
      const std::string post_type = in.type(*post, "post_processor");
      if (post_type != "ByteLevel") {
        in.fail("post_processor.type is " + quoted(post_type) + "; only \"ByteLevel\" (or none) is supported");
      }
    }
  } catch (const json::exception& error) {
    in.fail(std::string("malformed (") + error.what() + ")");
  }
  tok.rebuild_tries();
  return tok;
}

void BpeTokenizer::rebuild_tries() {
  raw_trie_ = Trie();
  normalized_trie_ = Trie();
  for (auto& [id, token] : added_) {
    if (token.normalized) {
      token.matched = normalize(token.content);
      normalized_trie_.insert(token.matched, id);
    } else {
      token.matched = token.content;
      raw_trie_.insert(token.matched, id);
    }
  }
}

// ---- encoding ----

std::string BpeTokenizer::normalize(std::string_view text) const {
  if (!nfc_) return std::string(text);
  std::u32string codes;
  std::vector<std::size_t> offsets;
  decode_utf8(text, codes, offsets);
  std::string out;
  out.reserve(text.size());
  for (const char32_t code : unicode::nfc(codes)) append_utf8(code, out);
  return out;
}

void BpeTokenizer::encode_piece(std::string_view piece, std::vector<std::int64_t>& ids) const {
  if (ignore_merges_) {
    std::string spelled;
    for (const char c : piece) spelled += byte_chars()[static_cast<unsigned char>(c)];
    auto it = ids_.find(spelled);
    const auto added = it == ids_.end() ? added_.end() : added_.find(it->second);
    if (it != ids_.end() && (added == added_.end() || added->second.in_model)) {
      ids.push_back(it->second);
      return;
    }
  }
  // Symbols form a linked list; a merged-away symbol has length 0. As in Hugging Face's BPE, a queue holds
  // (rank, position of the left symbol), lowest rank first and leftmost among equal ranks; stale entries
  // (a side merged away, or the pair no longer the queued one) are skipped when popped.
  struct Symbol {
    std::int64_t id;
    std::int64_t prev, next;
    std::size_t length;
  };
  const auto n = static_cast<std::int64_t>(piece.size());
  std::vector<Symbol> symbols(piece.size());
  for (std::int64_t i = 0; i < n; ++i) {
    symbols[static_cast<std::size_t>(i)] = {byte_ids_[static_cast<unsigned char>(piece[static_cast<std::size_t>(i)])],
                                            i - 1, i + 1 < n ? i + 1 : -1, 1};
  }
  using Entry = std::pair<std::int32_t, std::int64_t>;  // (rank, left position)
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> queue;
  const auto find_merge = [&](std::int64_t left) -> const std::pair<std::int32_t, std::int64_t>* {
    const Symbol& a = symbols[static_cast<std::size_t>(left)];
    if (a.next < 0) return nullptr;
    const Symbol& b = symbols[static_cast<std::size_t>(a.next)];
    auto it = merges_.find(static_cast<std::uint64_t>(a.id) << 32 | static_cast<std::uint64_t>(b.id));
    return it == merges_.end() ? nullptr : &it->second;
  };
  const auto push = [&](std::int64_t left) {
    if (const auto* merge = find_merge(left)) queue.emplace(merge->first, left);
  };
  for (std::int64_t i = 0; i + 1 < n; ++i) push(i);
  while (!queue.empty()) {
    const auto [rank, left] = queue.top();
    queue.pop();
    Symbol& a = symbols[static_cast<std::size_t>(left)];
    if (a.length == 0) continue;
    const auto* merge = find_merge(left);
    if (merge == nullptr || merge->first != rank) continue;
    Symbol& b = symbols[static_cast<std::size_t>(a.next)];
    a.id = merge->second;
    a.length += b.length;
    b.length = 0;
    a.next = b.next;
    if (a.next >= 0) symbols[static_cast<std::size_t>(a.next)].prev = left;
    if (a.prev >= 0) push(a.prev);
    push(left);
  }
  for (std::int64_t i = 0; i >= 0; i = symbols[static_cast<std::size_t>(i)].next) {
    ids.push_back(symbols[static_cast<std::size_t>(i)].id);
  }
}

void BpeTokenizer::split(const std::string& utf8, const PieceSink& sink) const {
  // Splits `text` at the added tokens of `trie` (leftmost-longest), passing the text between them to `rest`.
  const auto split_added = [&](std::string_view text, const Trie& trie, const auto& rest) {
    std::size_t start = 0;
    for (std::size_t pos = 0; pos < text.size();) {
      const auto [id, length] = trie.longest_at(text, pos);
      if (id < 0) {
        ++pos;
        continue;
      }
      if (pos > start) rest(text.substr(start, pos - start));
      sink(text.substr(pos, length), id);
      pos += length;
      start = pos;
    }
    if (start < text.size()) rest(text.substr(start));
  };
  std::u32string codes;
  std::vector<std::size_t> offsets;
  split_added(utf8, raw_trie_, [&](std::string_view segment) {
    const std::string normalized = normalize(segment);
    split_added(normalized, normalized_trie_, [&](std::string_view text) {
      decode_utf8(text, codes, offsets);
      for (const auto& [begin, end] : split_qwen2(codes)) {
        sink(text.substr(offsets[begin], offsets[end] - offsets[begin]), -1);
      }
    });
  });
}

std::vector<std::int64_t> BpeTokenizer::encode(const std::string& utf8) const {
  check_utf8(utf8, "BpeTokenizer::encode");
  std::vector<std::int64_t> ids;
  split(utf8, [&](std::string_view piece, std::int64_t added_id) {
    if (added_id >= 0) {
      ids.push_back(added_id);
    } else {
      encode_piece(piece, ids);
    }
  });
  return ids;
}

std::vector<std::string> BpeTokenizer::pieces(const std::string& utf8) const {
  check_utf8(utf8, "BpeTokenizer::pieces");
  std::vector<std::string> out;
  split(utf8, [&](std::string_view piece, std::int64_t) { out.emplace_back(piece); });
  return out;
}

// ---- decoding and lookup ----

std::string BpeTokenizer::decode(const std::vector<std::int64_t>& ids) const {
  std::string out;
  std::u32string codes;
  std::vector<std::size_t> offsets;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const std::int64_t id = ids[i];
    RG_CHECK(id >= 0 && id < vocab_size() && has_token_[static_cast<std::size_t>(id)], "BpeTokenizer::decode: id ", id,
             " (position ", i, ") has no token in ", path_, " (vocab_size ", vocab_size(), ")");
    const std::string& token = tokens_[static_cast<std::size_t>(id)];
    if (added_.count(id) != 0) {
      out += token;
      continue;
    }
    // Each byte-level character gives its byte; a token with any other character gives its own UTF-8 bytes
    // (as Hugging Face's ByteLevel decoder does).
    decode_utf8(token, codes, offsets);
    const std::size_t mark = out.size();
    bool byte_level = true;
    for (const char32_t code : codes) {
      const int byte = code < unicode_to_byte().size() ? unicode_to_byte()[code] : -1;
      if (byte < 0) {
        byte_level = false;
        break;
      }
      out.push_back(static_cast<char>(byte));
    }
    if (!byte_level) out.replace(mark, std::string::npos, token);
  }
  return out;
}

std::int64_t BpeTokenizer::id_of(const std::string& token) const {
  auto it = ids_.find(token);
  RG_CHECK(it != ids_.end(), "BpeTokenizer::id_of: ", quoted(token), " is not a token of ", path_);
  return it->second;
}

bool BpeTokenizer::contains(const std::string& token) const { return ids_.count(token) != 0; }

const std::string& BpeTokenizer::token_of(std::int64_t id) const {
  RG_CHECK(id >= 0 && id < vocab_size() && has_token_[static_cast<std::size_t>(id)], "BpeTokenizer::token_of: id ", id,
           " has no token in ", path_, " (vocab_size ", vocab_size(), ")");
  return tokens_[static_cast<std::size_t>(id)];
}

bool BpeTokenizer::is_special(std::int64_t id) const {
  auto it = added_.find(id);
  return it != added_.end() && it->second.special;
}

std::int64_t BpeTokenizer::add_tokens(const std::vector<std::string>& tokens) {
  std::int64_t added = 0;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::string& token = tokens[i];
    RG_CHECK(!token.empty(), "BpeTokenizer::add_tokens: token ", i, " is empty");
    check_utf8(token, "BpeTokenizer::add_tokens: token " + std::to_string(i));
    if (contains(token)) continue;
    const std::int64_t id = vocab_size();
    RG_CHECK(id < kMaxId, "BpeTokenizer::add_tokens: ids must stay below ", kMaxId);
    tokens_.push_back(token);
    has_token_.push_back(1);
    ids_.emplace(token, id);
    AddedToken entry;
    entry.content = token;
    entry.normalized = true;
    added_.emplace(id, std::move(entry));
    ++added;
  }
  if (added > 0) rebuild_tries();
  return added;
}

void BpeTokenizer::save(const std::string& tokenizer_json_path) const {
  json root = json::parse(source_text_);
  json& added = root["added_tokens"];
  if (added.is_null()) added = json::array();
  std::vector<std::int64_t> saved_ids;
  for (const json& entry : added) saved_ids.push_back(entry.at("id").get<std::int64_t>());
  std::vector<std::int64_t> new_ids;
  for (const auto& [id, token] : added_) {
    if (std::find(saved_ids.begin(), saved_ids.end(), id) == saved_ids.end()) new_ids.push_back(id);
  }
  std::sort(new_ids.begin(), new_ids.end());
  for (const std::int64_t id : new_ids) {
    const AddedToken& token = added_.at(id);
    added.push_back({{"id", id},
                     {"content", token.content},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", token.normalized},
                     {"special", token.special}});
  }
  write_file_atomically(tokenizer_json_path, root.dump(2), "BpeTokenizer::save");
}

}  // namespace recgrad::datasets
