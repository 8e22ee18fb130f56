// The one line reader of the loaders: walks a text line by line with 1-based line numbers, for messages
// that point at file:line. A trailing \r (Windows line ends) is dropped; the callback decides what a
// blank line means for its format (is_blank below is the usual test).
#pragma once

#include <cstdint>
#include <string_view>

namespace recgrad::datasets {

/// Calls fn(line_number, line) for every line of `text` (the last one may lack its newline).
template <typename Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  std::size_t pos = 0;
  std::int64_t line = 0;
  while (pos < text.size()) {
    ++line;
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view content = text.substr(pos, end - pos);
    pos = end + 1;
    if (!content.empty() && content.back() == '\r') content.remove_suffix(1);
    fn(line, content);
  }
}

/// True when `line` holds nothing but spaces and tabs.
inline bool is_blank(std::string_view line) { return line.find_first_not_of(" \t") == std::string_view::npos; }

}  // namespace recgrad::datasets
