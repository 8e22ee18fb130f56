#include "datasets/load_options.h"

#include <sstream>

namespace recgrad::datasets {

const char* skip_reason_name(SkipReason reason) {
  switch (reason) {
    case SkipReason::WrongColumnCount:
      return "wrong_column_count";
    case SkipReason::BadListLiteral:
      return "bad_list_literal";
    case SkipReason::BadNumber:
      return "bad_number";
    case SkipReason::UnknownItem:
      return "unknown_item";
    case SkipReason::EmptySequence:
      return "empty_sequence";
    case SkipReason::TruncatedRow:
      return "truncated_row";
    case SkipReason::BadRecord:
      return "bad_record";
    case SkipReason::MalformedCsv:
      return "malformed_csv";
    case SkipReason::InconsistentRow:
      return "inconsistent_row";
    case SkipReason::BadEncoding:
      return "bad_encoding";
    case SkipReason::Count:
      break;
  }
  return "unknown_reason";
}

void LoadReport::skip(SkipReason reason, std::string message) {
  ++skipped[static_cast<std::size_t>(reason)];
  if (examples.size() < kMaxExamples) examples.push_back(std::move(message));
}

std::int64_t LoadReport::skipped_total() const {
  std::int64_t total = 0;
  for (std::int64_t count : skipped) total += count;
  return total;
}

std::string LoadReport::to_string() const {
  std::ostringstream out;
  out << "read " << rows_read << " rows; skipped " << skipped_total();
  const char* separator = ": ";
  for (std::size_t r = 0; r < skipped.size(); ++r) {
    if (skipped[r] == 0) continue;
    out << separator << skipped[r] << " " << skip_reason_name(static_cast<SkipReason>(r));
    separator = ", ";
  }
  if (histories_truncated > 0) out << "; " << histories_truncated << " histories cut to the maximum length";
  for (const std::string& example : examples) out << "\n  e.g. " << example;
  return out.str();
}

}  // namespace recgrad::datasets
