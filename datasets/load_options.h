// LoadOptions and LoadReport: how strict a loader is, and what it skipped.
//
// Loaders are strict by default: the first malformed row throws recgrad::Error naming the file, the
// line and what was wrong. With `lenient = true` a malformed row is skipped instead, and counted in a
// LoadReport by reason (with the first few messages kept as examples), so nothing is dropped silently;
// a lenient load therefore needs a LoadReport to write to. What is wrong with a whole file or with the
// dataset (an unreadable or UTF-16 file, a bad header, a faulty catalogue, a split left without rows) is
// an error even when lenient.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace recgrad::datasets {

/// Why a row was skipped (or, when strict, why loading failed).
enum class SkipReason {
  WrongColumnCount,  // a CSV row with more or fewer fields than the header
  BadListLiteral,    // a Python-literal list that does not parse ("[1, 2" , "[1, x]")
  BadNumber,         // a number or id field that does not parse ("A12x", "3.5" for an item id)
  UnknownItem,       // an item id that is not in the catalogue
  EmptySequence,     // a row whose history is empty
  TruncatedRow,      // the file ends inside a row (unterminated quote, missing fields on the last line)
  BadRecord,         // a JSON line that does not parse, or lacks a required field (an empty user_id)
  MalformedCsv,      // text after a closing quote ("a"b,...), a quote never closed on a line that others follow
  InconsistentRow,   // fields that contradict each other or the catalogue (an item_sid that is not the item's)
  BadEncoding,       // bytes that are not UTF-8 (a Latin-1 title, say)
  Count              // number of reasons (not a reason)
};

/// "wrong_column_count", "bad_list_literal", ...
const char* skip_reason_name(SkipReason reason);

struct LoadOptions {
  /// false: the first malformed row throws. true: malformed rows are skipped and counted in the report.
  bool lenient = false;
  /// > 0: histories longer than this keep their most recent `max_history_length` items (counted in
  /// LoadReport::histories_truncated). 0: keep histories as the files give them.
  std::int32_t max_history_length = 0;
};

/// What a load did besides producing the dataset: rows read and skipped (by reason).
struct LoadReport {
  static constexpr std::size_t kMaxExamples = 10;

  std::int64_t rows_read = 0;  // rows kept
  std::array<std::int64_t, static_cast<std::size_t>(SkipReason::Count)> skipped{};
  std::vector<std::string> examples;  // the first kMaxExamples skip messages ("file:line: what")
  std::int64_t histories_truncated = 0;

  /// Counts one skipped row and keeps its message if there is room.
  void skip(SkipReason reason, std::string message);
  std::int64_t skipped_total() const;
  std::int64_t skipped_for(SkipReason reason) const { return skipped[static_cast<std::size_t>(reason)]; }
  /// "read N rows; skipped M: 2 bad_list_literal, 1 unknown_item; e.g. file:line: ..."
  std::string to_string() const;
};

}  // namespace recgrad::datasets
