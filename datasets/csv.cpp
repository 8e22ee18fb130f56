#include "datasets/csv.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "core/error.h"

namespace recgrad::datasets {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// The length of the line end at data[i]: 2 for \r\n, 1 for \n or a lone \r, 0 for anything else.
std::size_t line_end_length(const char* data, std::size_t size, std::size_t i) {
  if (i >= size) return 0;
  if (data[i] == '\n') return 1;
  if (data[i] == '\r') return i + 1 < size && data[i + 1] == '\n' ? 2 : 1;
  return 0;
}

// The first line end at or after `i` (size when there is none).
std::size_t find_line_end(const char* data, std::size_t size, std::size_t i) {
  while (i < size && data[i] != '\n' && data[i] != '\r') ++i;
  return i;
}

// The line ends in data[from, to), counting \r\n once.
std::int64_t count_line_ends(const char* data, std::size_t size, std::size_t from, std::size_t to) {
  std::int64_t count = 0;
  for (std::size_t k = from; k < to; ++k) {
    count += data[k] == '\n' || (data[k] == '\r' && (k + 1 >= size || data[k + 1] != '\n'));
  }
  return count;
}

}  // namespace

CsvReader::CsvReader(std::string_view text, std::string file_name) : text_(text), file_name_(std::move(file_name)) {
  if (text_.starts_with(kUtf8Bom)) pos_ = kUtf8Bom.size();
}

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
      const std::size_t opening = i;
      const std::int64_t opening_line = line_;
      std::size_t start = ++i;
      bool escaped = false;
      std::size_t buffer_start = unescaped_.size();
      bool closed = false;
      while (i < size) {
        const char* quote = static_cast<const char*>(std::memchr(data + i, '"', size - i));
        const std::size_t q = quote == nullptr ? size : static_cast<std::size_t>(quote - data);
        line_ += count_line_ends(data, size, i, q);
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
        // Nothing closes the quote: the row is cut at the end of the line the quote opened on, and reading
        // resumes on the next line. With no line after it, the text ends inside the field (truncated).
        const std::size_t end = find_line_end(data, size, opening);
        row.truncated = end >= size;
        row.ends_with_newline = !row.truncated;
        row.error = file_name_ + ":" + std::to_string(opening_line) +
                    ": a quoted field opened here is never closed (an unbalanced \" in the data, or a truncated file)";
        pos_ = end + line_end_length(data, size, end);
        line_ = opening_line + 1;
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
      } else if (const std::size_t line_end = line_end_length(data, size, i); line_end > 0) {
        i += line_end;
        ++line_;
        row_done = true;
      } else {
        row.error =
            file_name_ + ":" + std::to_string(line_) + ": unexpected character '" + data[i] + "' after a closing quote";
        // Reading resumes on the next line; when the quoted field spans lines, on the line after the one it
        // opened on, as its quote is likely the unbalanced one and the lines it swallowed are rows.
        std::size_t resume_from = i;
        if (opening_line != line_) {
          row.error +=
              " (the quoted field opened on line " + std::to_string(opening_line) + ": an unbalanced \" there?)";
          resume_from = opening;
          line_ = opening_line;
        }
        const std::size_t end = find_line_end(data, size, resume_from);
        pos_ = end + line_end_length(data, size, end);
        if (end < size) ++line_;
        return true;
      }
    } else {
      // Plain field: up to the next comma or line end.
      const std::size_t start = i;
      while (i < size && data[i] != ',' && data[i] != '\n' && data[i] != '\r') ++i;
      spans_.emplace_back(start, i - start);
      in_buffer_.push_back(false);
      if (i >= size) {
        row.ends_with_newline = false;
        row_done = true;
      } else if (data[i] == ',') {
        ++i;              // the comma
        if (i >= size) {  // a trailing comma at the end of the text: one more, empty field
          spans_.emplace_back(i, 0);
          in_buffer_.push_back(false);
          row.ends_with_newline = false;
          row_done = true;
        }
      } else {
        i += line_end_length(data, size, i);
        ++line_;
        row_done = true;
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
  std::error_code error;
  const std::filesystem::file_status status = std::filesystem::status(path, error);
  RG_CHECK(!std::filesystem::is_directory(status), "cannot read '", path, "': it is a folder, not a file");
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  RG_CHECK(file != nullptr, "cannot open '", path, "': ", std::strerror(errno));
  std::string text;
  if (std::filesystem::is_regular_file(status)) {
    // One read of the size the file has now; a file that grows meanwhile is read on below.
    text.resize(static_cast<std::size_t>(std::filesystem::file_size(path, error)));
    if (error) text.clear();
    const std::size_t got = text.empty() ? 0 : std::fread(text.data(), 1, text.size(), file.get());
    RG_CHECK(got == text.size(), "short read of '", path, "': ", got, " of ", text.size(), " bytes");
  }
  // Anything else (a pipe, a device) or the rest of a growing file: in chunks up to the end.
  char chunk[1 << 16];
  while (const std::size_t got = std::fread(chunk, 1, sizeof chunk, file.get())) text.append(chunk, got);
  RG_CHECK(std::ferror(file.get()) == 0, "cannot read '", path, "': ", std::strerror(errno));
  return text;
}

std::string read_text_file(const std::string& path) {
  std::string text = read_file(path);
  const auto starts_with = [&](const char* prefix, std::size_t length) {
    return std::string_view(text).starts_with(std::string_view(prefix, length));
  };
  const char* wide = starts_with("\x00\x00\xFE\xFF", 4) || starts_with("\xFF\xFE\x00\x00", 4) ? "UTF-32"
                     : starts_with("\xFF\xFE", 2) || starts_with("\xFE\xFF", 2)               ? "UTF-16"
                                                                                              : nullptr;
  RG_CHECK(wide == nullptr, "'", path, "' is ", wide, " text (it starts with a ", wide,
           " byte-order mark); recgrad reads UTF-8: convert it first, e.g. `iconv -f ", wide, " -t UTF-8 ", path,
           " > out`");
  if (std::string_view(text).starts_with(kUtf8Bom)) text.erase(0, kUtf8Bom.size());
  return text;
}

}  // namespace recgrad::datasets
