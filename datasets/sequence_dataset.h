// SequenceDataset: the in-memory dataset every sequential recommender reads.
//
// A dataset is three splits (train, valid, test) of rows
//     {user, history = the user's previous items (oldest first, at most max_history_length), target}
// plus the item catalogue (title, semantic-ID tokens, ...). Items are numbered 1..num_items and
// 0 is the padding id, so an item id indexes an embedding table of num_items + 1 rows directly.
// Loaders (minionerec.h, amazon_raw.h) and the synthetic generator all produce this one type.
//
// Rows are stored column-wise (users, targets, and every history concatenated with offsets, the
// CSR layout), so a split of a million rows is four allocations, not a million; `row(i)` gives a
// view {user, std::span history, target}.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <span>
#include <string>
#include <vector>

namespace recgrad::datasets {

using ItemId = std::int32_t;  // 1..num_items; 0 is padding
using UserId = std::int32_t;  // 0..num_users-1

/// The padding item id: never a real item, the id that left-padded histories are filled with.
inline constexpr ItemId kPaddingItem = 0;

/// What is known about one item. Text fields may be empty (synthetic items have no brand).
struct ItemInfo {
  std::string external_id;  // the id in the source data (MiniOneRec item_id, an ASIN, ...)
  std::string title;
  std::string description;
  std::string brand;
  std::string categories;                // as the source gives them (free text)
  std::vector<std::string> semantic_id;  // semantic-ID tokens, coarse to fine, e.g. {"<a_42>", "<b_80>", "<c_160>"}
};

/// A read-only view of one row of a split; `history` points into the split's storage.
struct SequenceRow {
  UserId user = 0;
  std::span<const ItemId> history;  // chronological, oldest first; may be empty only if the source allows it
  ItemId target = kPaddingItem;
};

/// One split: rows stored as columns. Row i's history is
/// history_items[history_offsets[i] .. history_offsets[i+1]).
struct Split {
  std::vector<UserId> users;                        // one per row
  std::vector<ItemId> targets;                      // one per row
  std::vector<std::int64_t> history_offsets = {0};  // rows + 1 entries, starts at 0
  std::vector<ItemId> history_items;                // all histories, concatenated

  /// Number of rows.
  std::size_t size() const { return targets.size(); }
  bool empty() const { return targets.empty(); }

  /// Row i as a view (no copy). Throws recgrad::Error when i >= size().
  SequenceRow row(std::size_t i) const;

  /// The history of row i (no copy, no bounds check beyond the offsets).
  std::span<const ItemId> history(std::size_t i) const {
    return {history_items.data() + history_offsets[i],
            static_cast<std::size_t>(history_offsets[i + 1] - history_offsets[i])};
  }

  /// Appends a row {user, history, target}.
  void add_row(UserId user, std::span<const ItemId> history, ItemId target);

  /// Reserves room for `rows` rows with `history_items_total` history items in all.
  void reserve(std::size_t rows, std::size_t history_items_total);
};

enum class SplitName { Train, Valid, Test };

/// "train", "valid" or "test".
const char* split_name(SplitName split);

/// Summary numbers of a dataset, see SequenceDataset::statistics().
struct DatasetStatistics {
  std::string name;
  std::int64_t users = 0;         // distinct users that appear in any split
  std::int64_t items = 0;         // num_items (the catalogue, seen or not)
  std::int64_t items_seen = 0;    // items that occur in some history or target
  std::int64_t interactions = 0;  // visible events: see SequenceDataset::statistics()
  std::int64_t rows_train = 0, rows_valid = 0, rows_test = 0;
  double density = 0;  // interactions / (users * items)

  /// Interactions per user (the user's visible sequence length): min, quartiles, p90, max, mean.
  std::int64_t sequence_length_min = 0, sequence_length_p25 = 0, sequence_length_median = 0, sequence_length_p75 = 0,
               sequence_length_p90 = 0, sequence_length_max = 0;
  double sequence_length_mean = 0;
  /// Mean history length of the rows of each split (bounded by max_history_length).
  double history_length_mean_train = 0, history_length_mean_valid = 0, history_length_mean_test = 0;

  /// Popularity skew over all num_items items (unseen items count as 0 interactions):
  /// Gini = sum_i (2i - n - 1) c_(i) / (n sum_i c_(i)) with counts sorted ascending, i = 1..n
  /// (0 = every item equally popular, -> 1 = all interactions on one item);
  /// top-1% share = interactions of the ceil(1% of n) most popular items / all interactions.
  double popularity_gini = 0;
  double top1_percent_share = 0;
  std::int64_t most_popular_item_count = 0;

  /// A printable multi-line report.
  std::string to_string() const;
};

std::ostream& operator<<(std::ostream& out, const DatasetStatistics& statistics);

/// A dataset of chronological user sequences with a train/valid/test split (see the top of this file).
struct SequenceDataset {
  std::string name;                     // e.g. "Industrial_and_Scientific" (a loaded folder's name)
  std::int32_t num_items = 0;           // item ids are 1..num_items
  std::int32_t num_users = 0;           // user ids are 0..num_users-1 (some may have no rows)
  std::int32_t max_history_length = 0;  // no row's history is longer than this
  std::vector<ItemInfo> items;          // num_items + 1 entries; items[0] is the padding entry (empty)
  std::vector<std::string> user_names;  // user u's name in the source ("A5382", a reviewerID); empty when the
                                        // source names no users (synthetic), else num_users entries
  Split train, valid, test;

  const Split& split(SplitName which) const;
  Split& split(SplitName which);

  /// Item i's metadata; throws recgrad::Error when i is not in 1..num_items.
  const ItemInfo& item(ItemId i) const;

  /// Checks the invariants: num_items >= 2 (with one item every ranking metric is trivially 1) and
  /// items.size() == num_items + 1; num_users >= 1 and user_names empty or of num_users entries; every
  /// user in [0, num_users); every target and history item in [1, num_items]; every history no longer
  /// than max_history_length; and every split holds rows (train to learn from, valid to select on, test
  /// to report). Throws recgrad::Error naming the split, row and value that break one.
  void validate() const;

  /// Counts users, items, interactions, sequence lengths and popularity skew.
  /// "Interactions" are the events the dataset shows: every row's target, plus, per user, the
  /// history of the user's earliest row (its shortest history), whose items appear only as history.
  /// For sliding-window and leave-one-out rows this is exactly each user's visible sequence.
  DatasetStatistics statistics() const;

  /// A 64-bit FNV-1a hash of the sizes and of every row of every split, as 16 hex digits: two datasets with the
  /// same fingerprint hold the same training data (checkpoints record it, so a run never resumes on other data).
  std::string fingerprint() const;
};

}  // namespace recgrad::datasets
