#include "datasets/csv.h"

#include <cstdio>
#include <cstring>
#include <memory>

#include "core/error.h"

namespace recgrad::datasets {

CsvReader::CsvReader(std::string_view text, std::string file_name) : text_(text), file_name_(std::move(file_name)) {}

bool CsvReader::next(CsvRow& row) {
  if (pos_ >= text_.size()) return false;
  row.fields.clear();
  row.error.clear();
  row.truncated = false;
  row.ends_with_newline = true;
  row.line = line_;
  unescaped_.clear();
  spans_.clear();
  in_buffer_.clear();

  const char* data = text_.data();
  const std::size_t size = text_.size();
  std::size_t i = pos_;
  bool row_done = false;
  while (!row_done) {
    if (i < size && data[i] == '"') {
      // Quoted field: copy runs between "" escapes into the buffer only when an escape occurs.
      std::size_t start = ++i;
      bool escaped = false;
      std::size_t buffer_start = unescaped_.size();
      bool closed = false;
      while (i < size) {
        const char* quote = static_cast<const char*>(std::memchr(data + i, '"', size - i));
        const std::size_t q = quote == nullptr ? size : static_cast<std::size_t>(quote - data);
        for (std::size_t k = i; k < q; ++k) line_ += data[k] == '\n';
        if (quote == nullptr) {
          i = size;
          break;
        }
        if (q + 1 < size && data[q + 1] == '"') {  // "" -> one quote
          unescaped_.append(data + i, q - i);      // i == start until the first escape
          unescaped_.push_back('"');
          escaped = true;
          i = q + 2;
          continue;
        }
        if (escaped) unescaped_.append(data + i, q - i);
        if (escaped) {
          spans_.emplace_back(buffer_start, unescaped_.size() - buffer_start);
        } else {
          spans_.emplace_back(start, q - start);
        }
        in_buffer_.push_back(escaped);
        i = q + 1;
        closed = true;
        break;
      }
      if (!closed) {
        row.truncated = true;
        row.ends_with_newline = false;
        row.error = file_name_ + ":" + std::to_string(row.line) + ": unterminated quoted field (file truncated?)";
        pos_ = size;
        return true;
      }
      if (i >= size) {
        row.ends_with_newline = false;
        row_done = true;
      } else if (data[i] == ',') {
        ++i;
        if (i >= size) {  // a trailing comma at the end of the text: one more, empty field
          spans_.emplace_back(i, 0);
          in_buffer_.push_back(false);
          row.ends_with_newline = false;
          row_done = true;
        }
      } else if (data[i] == '\n' || (data[i] == '\r' && i + 1 < size && data[i + 1] == '\n')) {
        i += data[i] == '\r' ? 2 : 1;
        ++line_;
        row_done = true;
      } else {
        row.error =
            file_name_ + ":" + std::to_string(line_) + ": unexpected character '" + data[i] + "' after a closing quote";
        const char* newline = static_cast<const char*>(std::memchr(data + i, '\n', size - i));
        pos_ = newline == nullptr ? size : static_cast<std::size_t>(newline - data) + 1;
        if (newline != nullptr) ++line_;
        return true;
      }
    } else {
      // Plain field: up to the next comma or end of line.
      const std::size_t start = i;
      while (i < size && data[i] != ',' && data[i] != '\n') ++i;
      std::size_t end = i;
      if (i >= size || data[i] == '\n') {
        if (end > start && data[end - 1] == '\r') --end;
        spans_.emplace_back(start, end - start);
        in_buffer_.push_back(false);
        if (i >= size) {
          row.ends_with_newline = false;
        } else {
          ++i;
          ++line_;
        }
        row_done = true;
      } else {
        spans_.emplace_back(start, end - start);
        in_buffer_.push_back(false);
        ++i;              // the comma
        if (i >= size) {  // a trailing comma at the end of the text: one more, empty field
          spans_.emplace_back(i, 0);
          in_buffer_.push_back(false);
          row.ends_with_newline = false;
          row_done = true;
        }
      }
    }
  }
  pos_ = i;
  row.fields.reserve(spans_.size());
  for (std::size_t f = 0; f < spans_.size(); ++f) {
    const char* base = in_buffer_[f] ? unescaped_.data() : data;
    row.fields.emplace_back(base + spans_[f].first, spans_[f].second);
  }
  return true;
}

std::string read_file(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  RG_CHECK(file != nullptr, "cannot open '", path, "': ", std::strerror(errno));
  RG_CHECK(std::fseek(file.get(), 0, SEEK_END) == 0, "cannot seek in '", path, "'");
  const long length = std::ftell(file.get());
  RG_CHECK(length >= 0, "cannot size '", path, "' (not a regular file?)");
  std::rewind(file.get());
  std::string text(static_cast<std::size_t>(length), '\0');
  const std::size_t got = length == 0 ? 0 : std::fread(text.data(), 1, text.size(), file.get());
  RG_CHECK(got == text.size(), "short read of '", path, "': ", got, " of ", text.size(), " bytes");
  return text;
}

}  // namespace recgrad::datasets
