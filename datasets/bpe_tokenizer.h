// BpeTokenizer: the byte-level BPE tokenizer of a Hugging Face tokenizer.json in the Qwen2 layout, reproducing
// the ids that the `tokenizers` library gives (encode without a post-processor's extra tokens).
//
// encode(text) runs the Hugging Face pipeline:
//   1. added tokens (added_tokens, and those of add_tokens) are split out first, leftmost-longest: at the first
//      position where some added token starts, the longest one there; they are never merged with neighbours.
//      Tokens with "normalized": false are matched in the raw text, those with "normalized": true in the
//      normalized text (their content normalized too), as Hugging Face does;
//   2. the normalizer (Qwen2: NFC; or none) normalizes the text between them;
//   3. the pre-tokenizer splits it with the Qwen2 pattern
//        (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//      with Oniguruma's semantics (leftmost alternative first, backtracking), implemented by hand on the
//      Unicode tables of unicode_categories.h;
//   4. each piece's bytes become GPT-2's byte-level characters (bytes 33..126, 161..172 and 174..255 stand for
//      themselves, the other 68 bytes for U+0100.. in order), and BPE merges adjacent symbols, the pair of
//      lowest merge rank first (leftmost among equals), until no pair has a merge; the symbols' ids are the
//      piece's ids.
// decode(ids) concatenates the bytes of the tokens (the inverse byte mapping; added tokens verbatim). A token
// sequence that cuts a multi-byte character gives those raw bytes (Hugging Face would substitute U+FFFD).
//
// load() accepts model.type "BPE" with merges as "a b" strings or [a, b] pairs, ignore_merges (Llama-3 style:
// a piece that is itself in the vocabulary is not merged), the normalizer NFC or none, the pre-tokenizer
// Sequence[Split(Qwen2 pattern, Isolated), ByteLevel(use_regex false)], the ByteLevel decoder and a ByteLevel
// (or no) post-processor. Anything else (dropout, byte_fallback, a subword prefix, lstrip/rstrip/single_word
// added tokens, other pre-tokenizers) is refused with a message naming the file and the field, as is a
// malformed file. Unicode data: unicode_categories.h (generated from Python's unicodedata, Unicode 14).
//
//   BpeTokenizer tok = BpeTokenizer::load("Qwen2.5-0.5B/tokenizer.json");
//   std::vector<std::int64_t> ids = tok.encode("<|im_start|>user\nhi");   // tok.decode(ids) gives the text back
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace recgrad::datasets {

class BpeTokenizer {
 public:
  /// Reads a Hugging Face tokenizer.json; throws recgrad::Error naming the file and what is wrong.
  static BpeTokenizer load(const std::string& tokenizer_json_path);

  /// The token ids of the UTF-8 text `utf8`; throws recgrad::Error naming the byte offset of invalid UTF-8.
  std::vector<std::int64_t> encode(const std::string& utf8) const;

  /// The pieces encode() cuts `utf8` into before BPE, in order: the added tokens, and the pre-tokenizer's
  /// pieces of the normalized text between them (what each is matched against, e.g. NFC text).
  std::vector<std::string> pieces(const std::string& utf8) const;

  /// The bytes the tokens `ids` stand for; throws recgrad::Error naming an id that has no token.
  std::string decode(const std::vector<std::int64_t>& ids) const;

  /// The id of the token `token` (a vocabulary entry in its byte-level spelling, e.g. "Ġthe", or an added
  /// token's content); throws recgrad::Error when there is none.
  std::int64_t id_of(const std::string& token) const;

  /// Whether `token` is a vocabulary entry or an added token.
  bool contains(const std::string& token) const;

  /// The token of id `id` (byte-level spelling, or an added token's content); throws when there is none.
  const std::string& token_of(std::int64_t id) const;

  /// One more than the largest id (the rows an embedding table needs); ids without a token may lie below it.
  std::int64_t vocab_size() const { return static_cast<std::int64_t>(tokens_.size()); }

  /// Whether `id` is the id of an added token marked "special" (e.g. <|endoftext|>).
  bool is_special(std::int64_t id) const;

  /// Appends each of `tokens` that is not already a token as a new added token (not special, normalized, as
  /// Hugging Face's add_tokens), with ids after the current largest; returns how many were added. An empty
  /// token is refused.
  std::int64_t add_tokens(const std::vector<std::string>& tokens);

  /// Writes the tokenizer.json it was loaded from, with the tokens add_tokens appended to its added_tokens (id,
  /// content, special, normalized; as Hugging Face saves them), to `tokenizer_json_path` atomically (temp file +
  /// rename); load() of the result gives the same ids and encodings.
  void save(const std::string& tokenizer_json_path) const;

  /// The path the tokenizer was loaded from (labels error messages).
  const std::string& path() const { return path_; }

 private:
  struct AddedToken {
    std::string content;  // as written; matched against the raw text when !normalized
    std::string matched;  // the text matched: content, or its NFC when normalized and the normalizer is NFC
    bool special = false;
    bool normalized = false;
    bool in_model = false;  // also an entry of model.vocab (with the same id)
  };
  // A byte trie over added tokens, for leftmost-longest matching.
  struct TrieNode {
    std::vector<std::pair<unsigned char, std::int32_t>> children;  // sorted by byte
    std::int64_t id = -1;                                          // the token ending here, if any
  };
  struct Trie {
    std::vector<TrieNode> nodes{1};
    void insert(std::string_view text, std::int64_t id);
    // The id and length of the longest token starting at text[pos], or {-1, 0}.
    std::pair<std::int64_t, std::size_t> longest_at(std::string_view text, std::size_t pos) const;
  };

  BpeTokenizer() = default;
  void set_token(std::int64_t id, const std::string& token, const std::string& what);
  void rebuild_tries();
  std::string normalize(std::string_view text) const;
  // Receives each piece of split(): an added token (with its id) or a pre-tokenizer piece (id -1).
  using PieceSink = std::function<void(std::string_view piece, std::int64_t added_id)>;
  void split(const std::string& utf8, const PieceSink& sink) const;
  void encode_piece(std::string_view piece, std::vector<std::int64_t>& ids) const;

  std::string path_;
  std::string source_text_;  // the file as loaded (save() rewrites it with the tokens added since)
  bool nfc_ = false;
  bool ignore_merges_ = false;
  std::unordered_map<std::string, std::int64_t> ids_;   // every token (vocabulary and added) -> id
  std::vector<std::string> tokens_;                     // id -> token
  std::vector<std::uint8_t> has_token_;                 // id -> whether tokens_[id] is a token
  std::unordered_map<std::int64_t, AddedToken> added_;  // id -> added token
  std::unordered_map<std::uint64_t, std::pair<std::int32_t, std::int64_t>> merges_;  // (left, right) -> rank, id
  std::array<std::int64_t, 256> byte_ids_{};  // byte -> id of its byte-level character
  Trie raw_trie_, normalized_trie_;           // added tokens matched before / after normalization
};

}  // namespace recgrad::datasets
