// The Unicode character data that the byte-level BPE tokenizer (bpe_tokenizer.h) needs, from compact tables
// that tools/gen_unicode_tables.py generates from Python's unicodedata into unicode_categories.inc: the
// general categories L* and N* (the regex classes \p{L} and \p{N}), the White_Space property (the regex
// class \s), and canonical composition (NFC), the normalizer of Qwen2's tokenizer.json.
#pragma once

#include <string>
#include <string_view>

namespace recgrad::datasets::unicode {

/// The Unicode version of the tables (that of the Python that generated them), e.g. "14.0.0".
const char* tables_version();

/// Whether `code` is a letter: general category Lu, Ll, Lt, Lm or Lo (\p{L}).
bool is_letter(char32_t code);

/// Whether `code` is a number: general category Nd, Nl or No (\p{N}).
bool is_number(char32_t code);

/// Whether `code` has the White_Space property (\s of Oniguruma and Rust regex; unlike Python's
/// str.isspace, U+001C..U+001F are not white space).
bool is_white_space(char32_t code);

/// The canonical combining class of `code` (0 for starters).
int combining_class(char32_t code);

/// The Normalization Form C of `text` (canonical decomposition, canonical ordering, canonical composition).
std::u32string nfc(std::u32string_view text);

}  // namespace recgrad::datasets::unicode
