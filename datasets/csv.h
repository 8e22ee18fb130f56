// CsvReader: reads comma-separated text with RFC 4180 quoting, one row at a time, tracking line numbers.
//
// A field is either plain (no comma, quote or line end) or quoted: "a, b" is one field, "" inside quotes
// is one quote, and a quoted field may span lines. Rows end at \n, \r\n or a lone \r (old Mac files),
// so a lone \r in a plain field ends its row, while one inside quotes is part of the field; line numbers
// count all three kinds of line end. A UTF-8 byte-order mark at the start of the text is skipped.
// Fields are string_views into the text (no copy); only a field with "" escapes is unescaped, into a
// buffer the reader reuses, so reading a file allocates nothing per field once the buffers have grown.
//
// A quote that is never closed is reported on the line it opened on, "a quoted field opened here is never
// closed (an unbalanced " in the data, or a truncated file)", and reading resumes on the next line, so a
// lenient loader loses that one line, not the rest of the file. An unbalanced quote that a later line's
// quote closes shows as text after a closing quote; when that quoted field spans lines the message names
// the line it opened on, and reading resumes on the line after that one.
//
//   CsvReader reader(text, "train.csv");
//   CsvRow row;
//   while (reader.next(row)) { if (!row.ok()) ...; use row.fields[i] and row.line; }
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace recgrad::datasets {

/// One row as read: its fields, the line it starts on (1-based) and, if it is malformed, why.
struct CsvRow {
  std::vector<std::string_view> fields;  // valid until the next call to CsvReader::next
  std::int64_t line = 0;
  bool truncated = false;         // the text ends inside this row (a quote opened on the last line, never closed)
  bool ends_with_newline = true;  // false for a last row that the text ends without a line end
  std::string error;              // empty when the row is well formed

  bool ok() const { return error.empty(); }
};

class CsvReader {
 public:
  /// Reads `text` (not copied: it must outlive the reader); `file_name` only labels error messages.
  CsvReader(std::string_view text, std::string file_name);

  /// Reads the next row into `row`; false at the end of the text. A malformed row (text after a
  /// closing quote, a quote never closed) is returned with `row.error` set, and reading resumes at
  /// the next line. A blank line is a row with one empty field.
  bool next(CsvRow& row);

  const std::string& file_name() const { return file_name_; }

 private:
  std::string_view text_;
  std::string file_name_;
  std::size_t pos_ = 0;
  std::int64_t line_ = 1;
  std::string unescaped_;                                   // unescaped quoted fields of the current row
  std::vector<std::pair<std::size_t, std::size_t>> spans_;  // (offset, length) per field
  std::vector<bool> in_buffer_;                             // whether span i lies in unescaped_ (else in text_)
};

/// Reads a whole file, byte for byte, into a string; throws recgrad::Error naming the file if it cannot
/// (missing, unreadable, a folder).
std::string read_file(const std::string& path);

/// read_file for the loaders' text files (CSV, JSON, JSON lines, the info .txt): skips a UTF-8 byte-order
/// mark and refuses a UTF-16 or UTF-32 file (by its byte-order mark) with a message naming the file.
std::string read_text_file(const std::string& path);

}  // namespace recgrad::datasets
