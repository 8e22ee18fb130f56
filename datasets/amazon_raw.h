// Raw Amazon reviews -> SequenceDataset: the loader for users who download the reviews themselves
// (tools/download_amazon.sh).
//
// Formats, one JSON object per line (auto-detected per line, or fixed by AmazonRawOptions::format):
//   2018 (McAuley, per-category "5-core" files such as Industrial_and_Scientific_5.json):
//     {"reviewerID": "A2...", "asin": "B000...", "unixReviewTime": 1474243200, "overall": 5.0, ...}
//     metadata meta_<Category>.json: {"asin", "title", "brand", "category": [...], "description": [...]}
//   2023 (McAuley Lab, <Category>.jsonl):
//     {"user_id": "AE...", "parent_asin": "B0...", "asin": "...", "timestamp": 1588687728923 (ms), ...}
//     metadata meta_<Category>.jsonl: {"parent_asin", "title", "store", "categories": [...], "description": [...]}
//   Items are keyed by asin (2018) or parent_asin (2023, falling back to asin).
// Compressed files (.json.gz) are NOT read: recgrad has no zlib dependency, so a gzip file fails with
// a message saying to gunzip it first (the download script does). Files are UTF-8 text (a leading
// byte-order mark is skipped, a UTF-16 file refused); lines end at \n, \r\n or a lone \r. A line that
// does not parse says why (the parser's reason, e.g. a byte that is not UTF-8); a timestamp that does not
// fit 64 bits of milliseconds is a bad number.
//
// Pipeline: read reviews (optionally only those in [min_timestamp, max_timestamp)), optionally drop
// repeated (user, item) pairs keeping the earliest, k-core filter (repeatedly drop users with fewer
// than user_k and items with fewer than item_k interactions until none is left), sort each user's
// interactions by time (ties keep file order), number items 1..N and users 0..U-1 in order of first
// appearance (SequenceDataset::user_names keeps the reviewer ids), then split:
//   LeaveOneOut: per user, last item -> test, second-to-last -> valid, every earlier item i >= 1 a
//                train row (history = the up to max_history_length items before it);
//   TimeWindow:  the MiniOneRec release protocol (SOURCE.md): every sample i >= 1 of every user,
//                (items[max(0, i-L) : i] -> items[i]), sorted by the target's time (stable), split
//                globally at floor(0.8 N) and floor(0.9 N) into train / valid / test.
// A split left without rows (every user too short for it, too few samples for a share) is an error.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "datasets/load_options.h"
#include "datasets/sequence_dataset.h"

namespace recgrad::datasets {

enum class AmazonFormat { Auto, Reviews2018, Reviews2023 };
enum class AmazonSplit { LeaveOneOut, TimeWindow };

struct AmazonRawOptions {
  AmazonFormat format = AmazonFormat::Auto;
  AmazonSplit split = AmazonSplit::LeaveOneOut;
  std::int32_t user_k = 5;  // k-core thresholds; 0 or 1 keeps everyone
  std::int32_t item_k = 5;
  std::int64_t min_timestamp = std::numeric_limits<std::int64_t>::min();  // seconds since 1970, inclusive
  std::int64_t max_timestamp = std::numeric_limits<std::int64_t>::max();  // seconds since 1970, exclusive
  bool keep_repeats = true;  // false: keep only the earliest review of each (user, item) pair
  std::int32_t max_history_length = 50;
  double train_fraction = 0.8;  // TimeWindow only; > 0
  double valid_fraction = 0.1;  // TimeWindow only; > 0, and train_fraction + valid_fraction < 1
  bool lenient = false;         // skip (and count) malformed lines instead of failing
  std::string name;             // dataset name; empty: the reviews file's name without extensions
};

/// One review reduced to what a sequence needs.
struct AmazonReview {
  std::string user;
  std::string item;
  std::int64_t timestamp_ms = 0;
};

/// What the pipeline read, dropped on purpose (time window, repeats, k-core) and skipped as malformed.
struct AmazonRawReport {
  LoadReport reviews;   // review lines read and skipped (by reason)
  LoadReport metadata;  // metadata lines read and skipped
  std::int64_t outside_time_window = 0;
  std::int64_t repeats_removed = 0;
  std::int64_t removed_by_k_core = 0;
  std::int64_t k_core_rounds = 0;
  std::int64_t users_too_short = 0;  // users left with one interaction: no target with a history
  std::int64_t items_without_metadata = 0;
  std::string to_string() const;
};

/// Reads a reviews file (2018 or 2023 JSON lines) into reviews, in file order. Lines outside the
/// time window are counted in report.outside_time_window and left out.
std::vector<AmazonReview> read_amazon_reviews(const std::string& path, const AmazonRawOptions& options,
                                              AmazonRawReport& report);

/// Reads a metadata file and fills title/description/brand/categories of the dataset's items, matched
/// by ItemInfo::external_id. Items without a metadata line are counted in report.items_without_metadata.
void read_amazon_metadata(const std::string& path, const AmazonRawOptions& options, SequenceDataset& dataset,
                          AmazonRawReport& report);

/// Time window already applied: dedup (unless keep_repeats), k-core, sort, number, split.
SequenceDataset build_amazon_dataset(const std::vector<AmazonReview>& reviews, const AmazonRawOptions& options,
                                     AmazonRawReport& report);

/// The whole pipeline: read_amazon_reviews, build_amazon_dataset, then read_amazon_metadata when
/// `metadata_path` is not empty. `report` may be null unless options.lenient.
SequenceDataset load_amazon_reviews(const std::string& reviews_path, const std::string& metadata_path,
                                    const AmazonRawOptions& options = {}, AmazonRawReport* report = nullptr);

}  // namespace recgrad::datasets
