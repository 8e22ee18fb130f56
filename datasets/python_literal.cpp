#include "datasets/python_literal.h"

#include <cctype>
#include <charconv>

#include "core/error.h"

namespace recgrad::datasets {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// A cursor over the literal; errors quote the text (shortened) and the position.
struct Cursor {
  std::string_view text;
  std::size_t pos = 0;

  void skip_spaces() {
    while (pos < text.size() && is_space(text[pos])) ++pos;
  }
  bool at_end() const { return pos >= text.size(); }
  char peek() const { return text[pos]; }

  [[noreturn]] void fail(const std::string& what) const {
    std::string shown(text.substr(0, 80));
    if (text.size() > 80) shown += "...";
    throw Error("bad Python literal \"" + shown + "\": " + what + " at character " + std::to_string(pos));
  }

  void expect(char c) {
    skip_spaces();
    if (at_end()) fail(std::string("expected '") + c + "' but the text ended");
    if (peek() != c) fail(std::string("expected '") + c + "', found '" + peek() + "'");
    ++pos;
  }
};

void append_utf8(std::string& out, std::uint32_t code_point) {
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

// Reads a quoted string at the cursor (after optional spaces) and appends its value to `out`.
void read_string(Cursor& cursor, std::string& out) {
  cursor.skip_spaces();
  if (cursor.at_end()) cursor.fail("expected a quoted string but the text ended");
  const char quote = cursor.peek();
  if (quote != '\'' && quote != '"') cursor.fail(std::string("expected a quoted string, found '") + quote + "'");
  ++cursor.pos;
  const std::string_view text = cursor.text;
  while (true) {
    // Copy the run up to the next quote or backslash in one go.
    std::size_t run = cursor.pos;
    while (run < text.size() && text[run] != quote && text[run] != '\\' && text[run] != '\n') ++run;
    out.append(text.data() + cursor.pos, run - cursor.pos);
    cursor.pos = run;
    if (cursor.at_end()) cursor.fail(std::string("unterminated string (no closing ") + quote + ")");
    const char c = text[cursor.pos];
    if (c == quote) {
      ++cursor.pos;
      return;
    }
    if (c == '\n') cursor.fail("newline inside a string");
    // A backslash escape.
    ++cursor.pos;
    if (cursor.at_end()) cursor.fail("string ends with a backslash");
    const char e = text[cursor.pos++];
    auto hex = [&](int digits) {
      if (cursor.pos + static_cast<std::size_t>(digits) > text.size()) cursor.fail("truncated \\x/\\u escape");
      std::uint32_t value = 0;
      const auto* first = text.data() + cursor.pos;
      const auto [end, ec] = std::from_chars(first, first + digits, value, 16);
      if (ec != std::errc() || end != first + digits) cursor.fail("bad hexadecimal escape");
      cursor.pos += static_cast<std::size_t>(digits);
      return value;
    };
    switch (e) {
      case '\\':
        out.push_back('\\');
        break;
      case '\'':
        out.push_back('\'');
        break;
      case '"':
        out.push_back('"');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case '0':
        out.push_back('\0');
        break;
      case 'a':
        out.push_back('\a');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'v':
        out.push_back('\v');
        break;
      case 'x':
        append_utf8(out, hex(2));
        break;
      case 'u':
        append_utf8(out, hex(4));
        break;
      case 'U': {
        const std::uint32_t code_point = hex(8);
        if (code_point > 0x10FFFF) cursor.fail("\\U escape beyond U+10FFFF");
        append_utf8(out, code_point);
        break;
      }
      default:  // Python keeps an unknown escape as written, backslash included.
        out.push_back('\\');
        out.push_back(e);
    }
  }
}

// Parses "[ elem, elem, ... ]" calling read_element(cursor) for each element.
template <typename ReadElement>
void parse_list(std::string_view text, ReadElement read_element) {
  Cursor cursor{text};
  cursor.expect('[');
  cursor.skip_spaces();
  if (!cursor.at_end() && cursor.peek() == ']') {
    ++cursor.pos;
  } else {
    while (true) {
      read_element(cursor);
      cursor.skip_spaces();
      if (cursor.at_end()) cursor.fail("expected ',' or ']' but the text ended");
      const char c = cursor.peek();
      ++cursor.pos;
      if (c == ']') break;
      if (c != ',') {
        --cursor.pos;
        cursor.fail(std::string("expected ',' or ']', found '") + c + "'");
      }
      cursor.skip_spaces();
      if (!cursor.at_end() && cursor.peek() == ']') {  // a trailing comma
        ++cursor.pos;
        break;
      }
    }
  }
  cursor.skip_spaces();
  if (!cursor.at_end()) cursor.fail("unexpected text after the closing ']'");
}

}  // namespace

void parse_python_int_list(std::string_view text, std::vector<std::int64_t>& out) {
  out.clear();
  parse_list(text, [&](Cursor& cursor) {
    cursor.skip_spaces();
    const char* first = cursor.text.data() + cursor.pos;
    const char* last = cursor.text.data() + cursor.text.size();
    if (first != last && *first == '+') ++first;  // from_chars accepts '-' but not '+'
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(first, last, value);
    if (ec == std::errc::result_out_of_range) cursor.fail("integer out of range");
    if (ec != std::errc()) cursor.fail("expected an integer");
    if (end != last &&
        (*end == '.' || *end == 'e' || *end == 'E' || *end == '_' || std::isalnum(static_cast<unsigned char>(*end)))) {
      cursor.pos = static_cast<std::size_t>(end - cursor.text.data());
      cursor.fail("expected an integer, found a number with '" + std::string(1, *end) + "'");
    }
    cursor.pos = static_cast<std::size_t>(end - cursor.text.data());
    out.push_back(value);
  });
}

std::vector<std::int64_t> parse_python_int_list(std::string_view text) {
  std::vector<std::int64_t> out;
  parse_python_int_list(text, out);
  return out;
}

void parse_python_string_list(std::string_view text, std::vector<std::string>& out) {
  out.clear();
  parse_list(text, [&](Cursor& cursor) {
    std::string value;
    read_string(cursor, value);
    out.push_back(std::move(value));
  });
}

std::vector<std::string> parse_python_string_list(std::string_view text) {
  std::vector<std::string> out;
  parse_python_string_list(text, out);
  return out;
}

std::string parse_python_string(std::string_view text) {
  Cursor cursor{text};
  std::string value;
  read_string(cursor, value);
  cursor.skip_spaces();
  if (!cursor.at_end()) cursor.fail("unexpected text after the closing quote");
  return value;
}

}  // namespace recgrad::datasets
