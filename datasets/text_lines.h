// The one line reader of the loaders: walks a text line by line with 1-based line numbers, for messages
// that point at file:line. A line ends at \n, \r\n (Windows) or a lone \r (old Mac), so a file of any of
// the three conventions reads the same; the line handed on holds no line-end character. The callback
// decides what a blank line means for its format (is_blank below is the usual test).
//
// Text is UTF-8: utf8_problem names the first byte of a line that is not (a Latin-1 or Windows-1252
// file, say), so a loader can refuse it with file:line instead of carrying mojibake on.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace recgrad::datasets {

/// Calls fn(line_number, line) for every line of `text` (the last one may lack its line end).
template <typename Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  std::size_t pos = 0;
  std::int64_t line = 0;
  while (pos < text.size()) {
    ++line;
    std::size_t end = text.find_first_of("\r\n", pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view content = text.substr(pos, end - pos);
    pos = end + 1;
    if (end + 1 < text.size() && text[end] == '\r' && text[end + 1] == '\n') ++pos;  // \r\n is one line end
    fn(line, content);
  }
}

/// True when `line` holds nothing but spaces and tabs.
inline bool is_blank(std::string_view line) { return line.find_first_not_of(" \t") == std::string_view::npos; }

/// The offset of the first byte of `text` that does not start a well-formed UTF-8 sequence (a stray
/// continuation byte, a sequence cut short, an overlong form, a surrogate, a code point above U+10FFFF),
/// or npos when all of `text` is UTF-8.
inline std::size_t find_invalid_utf8(std::string_view text) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t size = text.size();
  std::size_t i = 0;
  while (i < size) {
    const unsigned char lead = bytes[i];
    if (lead < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;  // the range of the second byte (RFC 3629, section 4)
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) low = 0xA0;   // no overlong forms
      if (lead == 0xED) high = 0x9F;  // no surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) low = 0x90;   // no overlong forms
      if (lead == 0xF4) high = 0x8F;  // nothing above U+10FFFF
    } else {
      return i;
    }
    if (i + length > size || bytes[i + 1] < low || bytes[i + 1] > high) return i;
    for (std::size_t k = 2; k < length; ++k) {
      if (bytes[i + k] < 0x80 || bytes[i + k] > 0xBF) return i;
    }
    i += length;
  }
  return std::string_view::npos;
}

/// Empty when `text` is UTF-8; else "byte 0xE9 at column 12 is not valid UTF-8 (...)", the column
/// counting bytes from 1, for a message that begins with file:line.
inline std::string utf8_problem(std::string_view text) {
  const std::size_t bad = find_invalid_utf8(text);
  if (bad == std::string_view::npos) return {};
  char byte[8];
  std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned>(static_cast<unsigned char>(text[bad])));
  return std::string("byte ") + byte + " at column " + std::to_string(bad + 1) +
         " is not valid UTF-8 (recgrad reads UTF-8 text; convert the file, e.g. `iconv -f latin1 -t utf-8`)";
}

}  // namespace recgrad::datasets
