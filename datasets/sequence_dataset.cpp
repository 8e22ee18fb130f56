#include "datasets/sequence_dataset.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "core/error.h"

namespace recgrad::datasets {

SequenceRow Split::row(std::size_t i) const {
  RG_CHECK(i < size(), "Split::row: row ", i, " out of range (the split has ", size(), " rows)");
  return {users[i], history(i), targets[i]};
}

void Split::add_row(UserId user, std::span<const ItemId> row_history, ItemId target) {
  users.push_back(user);
  targets.push_back(target);
  history_items.insert(history_items.end(), row_history.begin(), row_history.end());
  history_offsets.push_back(static_cast<std::int64_t>(history_items.size()));
}

void Split::reserve(std::size_t rows, std::size_t history_items_total) {
  users.reserve(rows);
  targets.reserve(rows);
  history_offsets.reserve(rows + 1);
  history_items.reserve(history_items_total);
}

const char* split_name(SplitName split) {
  switch (split) {
    case SplitName::Train:
      return "train";
    case SplitName::Valid:
      return "valid";
    case SplitName::Test:
      return "test";
  }
  return "?";
}

const Split& SequenceDataset::split(SplitName which) const {
  switch (which) {
    case SplitName::Train:
      return train;
    case SplitName::Valid:
      return valid;
    case SplitName::Test:
      return test;
  }
  throw Error("SequenceDataset::split: unknown split");
}

Split& SequenceDataset::split(SplitName which) {
  return const_cast<Split&>(static_cast<const SequenceDataset&>(*this).split(which));
}

const ItemInfo& SequenceDataset::item(ItemId i) const {
  RG_CHECK(i >= 1 && i <= num_items, "SequenceDataset '", name, "': item id ", i, " is not in 1..", num_items);
  return items[static_cast<std::size_t>(i)];
}

void SequenceDataset::validate() const {
  const std::string where = "SequenceDataset '" + name + "'";
  RG_CHECK(num_items >= 0 && num_users >= 0 && max_history_length >= 0, where, ": negative size (num_items ", num_items,
           ", num_users ", num_users, ", max_history_length ", max_history_length, ")");
  RG_CHECK(items.size() == static_cast<std::size_t>(num_items) + 1, where, ": items has ", items.size(),
           " entries, expected num_items + 1 = ", num_items + 1);
  RG_CHECK(num_items >= 2, where, ": num_items ", num_items,
           ": a catalogue needs at least 2 items (with one, every ranking metric is trivially 1)");
  RG_CHECK(num_users >= 1, where, ": num_users ", num_users, ": a dataset needs at least one user");
  RG_CHECK(user_names.empty() || user_names.size() == static_cast<std::size_t>(num_users), where, ": user_names has ",
           user_names.size(), " entries, expected none or num_users = ", num_users);
  for (SplitName which : {SplitName::Train, SplitName::Valid, SplitName::Test}) {
    const Split& s = split(which);
    const char* sname = split_name(which);
    RG_CHECK(s.users.size() == s.targets.size() && s.history_offsets.size() == s.targets.size() + 1 &&
                 s.history_offsets.front() == 0 &&
                 s.history_offsets.back() == static_cast<std::int64_t>(s.history_items.size()),
             where, ", split ", sname, ": inconsistent columns (", s.users.size(), " users, ", s.targets.size(),
             " targets, ", s.history_offsets.size(), " offsets, ", s.history_items.size(), " history items)");
    for (std::size_t r = 0; r < s.size(); ++r) {
      RG_CHECK(s.users[r] >= 0 && s.users[r] < num_users, where, ", split ", sname, ", row ", r, ": user ", s.users[r],
               " is not in 0..", num_users - 1);
      RG_CHECK(s.targets[r] >= 1 && s.targets[r] <= num_items, where, ", split ", sname, ", row ", r, ": target ",
               s.targets[r], " is not an item id in 1..", num_items);
      RG_CHECK(s.history_offsets[r + 1] >= s.history_offsets[r], where, ", split ", sname, ", row ", r,
               ": history offsets decrease");
      const std::span<const ItemId> h = s.history(r);
      RG_CHECK(h.size() <= static_cast<std::size_t>(max_history_length), where, ", split ", sname, ", row ", r,
               ": history of ", h.size(), " items is longer than max_history_length ", max_history_length);
      for (ItemId item : h) {
        RG_CHECK(item >= 1 && item <= num_items, where, ", split ", sname, ", row ", r, ": history item ", item,
                 " is not an item id in 1..", num_items);
      }
    }
  }
  for (SplitName which : {SplitName::Train, SplitName::Valid, SplitName::Test}) {
    RG_CHECK(!split(which).empty(), where, ": the ", split_name(which),
             " split has no rows (training needs train rows, model selection valid rows, the reported metrics "
             "test rows)");
  }
}

namespace {

// Value at quantile q of an ascending vector (nearest rank).
std::int64_t quantile(const std::vector<std::int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

double mean_history_length(const Split& s) {
  return s.empty() ? 0.0 : static_cast<double>(s.history_items.size()) / static_cast<double>(s.size());
}

}  // namespace

DatasetStatistics SequenceDataset::statistics() const {
  DatasetStatistics st;
  st.name = name;
  st.items = num_items;
  st.rows_train = static_cast<std::int64_t>(train.size());
  st.rows_valid = static_cast<std::int64_t>(valid.size());
  st.rows_test = static_cast<std::int64_t>(test.size());
  st.history_length_mean_train = mean_history_length(train);
  st.history_length_mean_valid = mean_history_length(valid);
  st.history_length_mean_test = mean_history_length(test);

  // Per user: rows (one target event each) and the split/row holding the shortest history.
  std::int32_t user_bound = num_users;
  for (const Split* s : {&train, &valid, &test}) {
    for (UserId u : s->users) user_bound = std::max(user_bound, u + 1);
  }
  std::vector<std::int64_t> rows_per_user(static_cast<std::size_t>(std::max(user_bound, 0)), 0);
  std::vector<const Split*> first_split(rows_per_user.size(), nullptr);
  std::vector<std::size_t> first_row(rows_per_user.size(), 0);
  std::vector<std::int64_t> item_counts(static_cast<std::size_t>(num_items) + 1, 0);
  auto count_item = [&](ItemId item) {
    if (item >= 1 && item <= num_items) ++item_counts[static_cast<std::size_t>(item)];
  };
  for (const Split* s : {&train, &valid, &test}) {
    for (std::size_t r = 0; r < s->size(); ++r) {
      const auto u = static_cast<std::size_t>(s->users[r]);
      ++rows_per_user[u];
      count_item(s->targets[r]);
      if (first_split[u] == nullptr || s->history(r).size() < first_split[u]->history(first_row[u]).size()) {
        first_split[u] = s;
        first_row[u] = r;
      }
    }
  }
  std::vector<std::int64_t> lengths;
  for (std::size_t u = 0; u < rows_per_user.size(); ++u) {
    if (rows_per_user[u] == 0) continue;
    const std::span<const ItemId> first_history = first_split[u]->history(first_row[u]);
    for (ItemId item : first_history) count_item(item);
    lengths.push_back(rows_per_user[u] + static_cast<std::int64_t>(first_history.size()));
  }
  st.users = static_cast<std::int64_t>(lengths.size());
  for (std::int64_t length : lengths) st.interactions += length;
  std::sort(lengths.begin(), lengths.end());
  if (!lengths.empty()) {
    st.sequence_length_min = lengths.front();
    st.sequence_length_max = lengths.back();
    st.sequence_length_p25 = quantile(lengths, 0.25);
    st.sequence_length_median = quantile(lengths, 0.5);
    st.sequence_length_p75 = quantile(lengths, 0.75);
    st.sequence_length_p90 = quantile(lengths, 0.9);
    st.sequence_length_mean = static_cast<double>(st.interactions) / static_cast<double>(lengths.size());
  }
  if (st.users > 0 && num_items > 0) {
    st.density = static_cast<double>(st.interactions) / (static_cast<double>(st.users) * num_items);
  }

  // Popularity skew over the catalogue (item 0, padding, excluded).
  std::vector<std::int64_t> counts(item_counts.begin() + 1, item_counts.end());
  std::sort(counts.begin(), counts.end());
  std::int64_t total = 0;
  for (std::int64_t c : counts) {
    total += c;
    if (c > 0) ++st.items_seen;
  }
  const auto n = static_cast<double>(counts.size());
  if (total > 0) {
    double weighted = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) {
      weighted += (2.0 * static_cast<double>(i + 1) - n - 1.0) * static_cast<double>(counts[i]);
    }
    st.popularity_gini = weighted / (n * static_cast<double>(total));
    const auto top = static_cast<std::size_t>(std::ceil(0.01 * n));
    std::int64_t top_total = 0;
    for (std::size_t i = 0; i < top; ++i) top_total += counts[counts.size() - 1 - i];
    st.top1_percent_share = static_cast<double>(top_total) / static_cast<double>(total);
    st.most_popular_item_count = counts.back();
  }
  return st;
}

std::string DatasetStatistics::to_string() const {
  std::ostringstream out;
  out << std::fixed;
  out << "dataset " << name << "\n"
      << "  users " << users << ", items " << items << " (" << items_seen << " seen), interactions " << interactions
      << ", density " << std::setprecision(6) << density << "\n"
      << "  rows: train " << rows_train << ", valid " << rows_valid << ", test " << rows_test << "\n"
      << std::setprecision(2) << "  interactions per user: min " << sequence_length_min << ", p25 "
      << sequence_length_p25 << ", median " << sequence_length_median << ", p75 " << sequence_length_p75 << ", p90 "
      << sequence_length_p90 << ", max " << sequence_length_max << ", mean " << sequence_length_mean << "\n"
      << "  mean history length: train " << history_length_mean_train << ", valid " << history_length_mean_valid
      << ", test " << history_length_mean_test << "\n"
      << std::setprecision(4) << "  popularity: Gini " << popularity_gini << ", top-1% items' share "
      << top1_percent_share << ", most popular item " << most_popular_item_count << " interactions\n";
  return out.str();
}

std::ostream& operator<<(std::ostream& out, const DatasetStatistics& statistics) {
  return out << statistics.to_string();
}

}  // namespace recgrad::datasets

namespace recgrad::datasets {

std::string SequenceDataset::fingerprint() const {
  std::uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a over the little-endian bytes of each value
  const auto mix = [&](std::uint64_t value) {
    for (int byte = 0; byte < 8; ++byte) {
      hash ^= (value >> (8 * byte)) & 0xff;
      hash *= 0x100000001b3ULL;
    }
  };
  mix(static_cast<std::uint64_t>(num_items));
  mix(static_cast<std::uint64_t>(num_users));
  for (const Split* split : {&train, &valid, &test}) {
    mix(split->size());
    for (UserId user : split->users) mix(static_cast<std::uint64_t>(user));
    for (ItemId target : split->targets) mix(static_cast<std::uint64_t>(target));
    for (std::int64_t offset : split->history_offsets) mix(static_cast<std::uint64_t>(offset));
    for (ItemId item : split->history_items) mix(static_cast<std::uint64_t>(item));
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

}  // namespace recgrad::datasets
