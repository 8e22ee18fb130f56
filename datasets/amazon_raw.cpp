#include "datasets/amazon_raw.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <unordered_map>

#include "core/error.h"
#include "datasets/csv.h"
#include "datasets/text_lines.h"

namespace recgrad::datasets {
namespace {

using nlohmann::json;

// Reads `path` in one go, refusing gzip files (recgrad has no zlib dependency).
std::string read_json_lines_file(const std::string& path) {
  std::string text = read_text_file(path);
  RG_CHECK(
      !(text.size() >= 2 && static_cast<unsigned char>(text[0]) == 0x1f && static_cast<unsigned char>(text[1]) == 0x8b),
      "'", path, "' is gzip-compressed; recgrad reads plain JSON lines only (no zlib dependency): run `gunzip -k ",
      path, "` first");
  return text;
}

// Calls fn(line_number, line) for every non-blank line of `text` (JSON lines may be separated by blank lines).
template <typename Fn>
void for_each_json_line(const std::string& text, Fn fn) {
  for_each_line(text, [&](std::int64_t line, std::string_view content) {
    if (!is_blank(content)) fn(line, content);
  });
}

// The string field `key` of `object`, or nullptr when absent or not a string.
const std::string* string_field(const json& object, const char* key) {
  const auto found = object.find(key);
  return found != object.end() && found->is_string() ? &found->get_ref<const std::string&>() : nullptr;
}

// Text of a metadata field that may be a string, a list of strings (joined by `separator`) or absent.
std::string text_field(const json& object, const char* key, const char* separator) {
  const auto found = object.find(key);
  if (found == object.end() || found->is_null()) return {};
  if (found->is_string()) return found->get<std::string>();
  if (found->is_array()) {
    std::string joined;
    for (const json& part : *found) {
      if (!joined.empty()) joined += separator;
      joined += part.is_string() ? part.get<std::string>() : part.dump();
    }
    return joined;
  }
  return found->dump();
}

// Parses one JSON line; on failure, a discarded value and in `why` the parser's reason, without its
// exception tag and the bytes it last read (which may be the bytes that are not UTF-8).
json parse_line(std::string_view content, std::string& why) {
  try {
    return json::parse(content);
  } catch (const json::parse_error& error) {
    why = error.what();
    if (const std::size_t tag_end = why.find("] "); why.starts_with("[json.exception") && tag_end != why.npos) {
      why.erase(0, tag_end + 2);
    }
    if (const std::size_t last_read = why.find("; last read"); last_read != why.npos) why.erase(last_read);
    if (const std::size_t at = why.find("at line 1, column "); at != why.npos) why.replace(at, 18, "at column ");
    return json(json::value_t::discarded);
  }
}

AmazonFormat detect_format(const json& record) {
  if (record.contains("reviewerID")) return AmazonFormat::Reviews2018;
  if (record.contains("user_id")) return AmazonFormat::Reviews2023;
  return AmazonFormat::Auto;  // neither
}

}  // namespace

std::string AmazonRawReport::to_string() const {
  std::ostringstream out;
  out << "reviews: " << reviews.to_string() << "\n"
      << "  outside the time window " << outside_time_window << ", repeats removed " << repeats_removed
      << ", removed by k-core " << removed_by_k_core << " (" << k_core_rounds << " rounds), users too short "
      << users_too_short << "\n"
      << "metadata: " << metadata.to_string() << "; items without metadata " << items_without_metadata;
  return out.str();
}

std::vector<AmazonReview> read_amazon_reviews(const std::string& path, const AmazonRawOptions& options,
                                              AmazonRawReport& report) {
  const std::string text = read_json_lines_file(path);
  const std::int64_t min_ms = options.min_timestamp <= std::numeric_limits<std::int64_t>::min() / 1000
                                  ? std::numeric_limits<std::int64_t>::min()
                                  : options.min_timestamp * 1000;
  const std::int64_t max_ms = options.max_timestamp >= std::numeric_limits<std::int64_t>::max() / 1000
                                  ? std::numeric_limits<std::int64_t>::max()
                                  : options.max_timestamp * 1000;
  std::vector<AmazonReview> reviews;
  for_each_json_line(text, [&](std::int64_t line, std::string_view content) {
    const auto at = [&] { return path + ":" + std::to_string(line) + ": "; };
    auto fail = [&](SkipReason reason, const std::string& what) {
      if (!options.lenient) throw Error(at() + what);
      report.reviews.skip(reason, at() + what);
    };
    std::string why;
    const json record = parse_line(content, why);
    if (record.is_discarded() || !record.is_object()) {
      const bool last_line = content.data() + content.size() >= text.data() + text.size() - 1;
      const std::string reason = why.empty() ? "" : " (" + why + ")";
      fail(last_line ? SkipReason::TruncatedRow : SkipReason::BadRecord,
           (last_line ? "not a complete JSON object (file truncated?)" : "not a JSON object") + reason);
      return;
    }
    AmazonFormat format = options.format == AmazonFormat::Auto ? detect_format(record) : options.format;
    if (format == AmazonFormat::Auto) {
      fail(SkipReason::BadRecord, "neither a 2018 review (no \"reviewerID\") nor a 2023 review (no \"user_id\")");
      return;
    }
    const bool v2018 = format == AmazonFormat::Reviews2018;
    const char* user_key = v2018 ? "reviewerID" : "user_id";
    const char* time_key = v2018 ? "unixReviewTime" : "timestamp";
    const std::string* user = string_field(record, user_key);
    const std::string* item = v2018 ? string_field(record, "asin") : string_field(record, "parent_asin");
    if (!v2018 && item == nullptr) item = string_field(record, "asin");
    const auto time = record.find(time_key);
    if (user == nullptr || user->empty()) {
      fail(SkipReason::BadRecord, std::string("missing string field \"") + user_key + "\"");
      return;
    }
    if (item == nullptr || item->empty()) {
      fail(SkipReason::BadRecord, v2018 ? "missing string field \"asin\"" : "missing \"parent_asin\" and \"asin\"");
      return;
    }
    if (time == record.end() || !time->is_number_integer()) {
      fail(SkipReason::BadNumber, std::string("missing or non-integer \"") + time_key + "\"");
      return;
    }
    // 2018 times are seconds, scaled to milliseconds here: both must fit 64 bits.
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    const bool fits =
        time->is_number_unsigned() ? time->get<std::uint64_t>() <= static_cast<std::uint64_t>(kMax) : true;
    const std::int64_t raw_time = fits ? time->get<std::int64_t>() : 0;
    if (!fits || (v2018 && (raw_time > kMax / 1000 || raw_time < -kMax / 1000))) {
      fail(SkipReason::BadNumber, std::string("\"") + time_key + "\" " + time->dump() + " is out of range");
      return;
    }
    const std::int64_t timestamp_ms = v2018 ? raw_time * 1000 : raw_time;
    if (timestamp_ms < min_ms || timestamp_ms >= max_ms) {
      ++report.outside_time_window;
      return;
    }
    reviews.push_back({*user, *item, timestamp_ms});
    ++report.reviews.rows_read;
  });
  return reviews;
}

SequenceDataset build_amazon_dataset(const std::vector<AmazonReview>& reviews, const AmazonRawOptions& options,
                                     AmazonRawReport& report) {
  RG_CHECK(options.max_history_length >= 1, "Amazon reviews: max_history_length must be >= 1, got ",
           options.max_history_length);
  RG_CHECK(
      options.train_fraction > 0 && options.valid_fraction > 0 && options.train_fraction + options.valid_fraction < 1,
      "Amazon reviews: need 0 < train_fraction, 0 < valid_fraction, train_fraction + valid_fraction < 1, so that every "
      "split gets rows (got ",
      options.train_fraction, ", ", options.valid_fraction, ")");

  // Intern users and items in order of first appearance.
  std::unordered_map<std::string_view, std::int32_t> user_index, item_index;
  std::vector<std::string_view> item_names;
  std::vector<std::int32_t> user_of(reviews.size()), item_of(reviews.size());
  for (std::size_t r = 0; r < reviews.size(); ++r) {
    user_of[r] = user_index.try_emplace(reviews[r].user, static_cast<std::int32_t>(user_index.size())).first->second;
    const auto [it, added] = item_index.try_emplace(reviews[r].item, static_cast<std::int32_t>(item_index.size()));
    if (added) item_names.push_back(reviews[r].item);
    item_of[r] = it->second;
  }
  std::vector<bool> alive(reviews.size(), true);

  // Repeated (user, item) pairs: keep the earliest (ties: the first in the file).
  if (!options.keep_repeats) {
    std::unordered_map<std::int64_t, std::size_t> earliest;
    for (std::size_t r = 0; r < reviews.size(); ++r) {
      const std::int64_t key =
          static_cast<std::int64_t>(user_of[r]) * static_cast<std::int64_t>(item_names.size()) + item_of[r];
      const auto [it, added] = earliest.try_emplace(key, r);
      if (added) continue;
      ++report.repeats_removed;
      if (reviews[r].timestamp_ms < reviews[it->second].timestamp_ms) {
        alive[it->second] = false;
        it->second = r;
      } else {
        alive[r] = false;
      }
    }
  }

  // k-core: drop users and items below their threshold until every survivor meets it.
  std::vector<std::int64_t> user_count(user_index.size()), item_count(item_names.size());
  while (true) {
    std::fill(user_count.begin(), user_count.end(), 0);
    std::fill(item_count.begin(), item_count.end(), 0);
    for (std::size_t r = 0; r < reviews.size(); ++r) {
      if (!alive[r]) continue;
      ++user_count[static_cast<std::size_t>(user_of[r])];
      ++item_count[static_cast<std::size_t>(item_of[r])];
    }
    std::int64_t removed = 0;
    for (std::size_t r = 0; r < reviews.size(); ++r) {
      if (alive[r] && (user_count[static_cast<std::size_t>(user_of[r])] < options.user_k ||
                       item_count[static_cast<std::size_t>(item_of[r])] < options.item_k)) {
        alive[r] = false;
        ++removed;
      }
    }
    ++report.k_core_rounds;
    report.removed_by_k_core += removed;
    if (removed == 0) break;
  }

  // Number the survivors: items 1..N, users 0..U-1, in order of first appearance.
  std::vector<ItemId> item_id(item_names.size(), kPaddingItem);
  std::vector<UserId> user_id(user_index.size(), -1);
  SequenceDataset dataset;
  dataset.name = options.name.empty() ? "amazon" : options.name;
  dataset.items.assign(1, ItemInfo{});
  std::int32_t users = 0;
  for (std::size_t r = 0; r < reviews.size(); ++r) {
    if (!alive[r]) continue;
    auto& item = item_id[static_cast<std::size_t>(item_of[r])];
    if (item == kPaddingItem) {
      item = static_cast<ItemId>(dataset.items.size());
      ItemInfo info;
      info.external_id = std::string(item_names[static_cast<std::size_t>(item_of[r])]);
      dataset.items.push_back(std::move(info));
    }
    auto& user = user_id[static_cast<std::size_t>(user_of[r])];
    if (user < 0) {
      user = users++;
      dataset.user_names.push_back(reviews[r].user);
    }
  }
  RG_CHECK(users > 0, "Amazon reviews: no interactions left after the time window and k-core filtering (user_k ",
           options.user_k, ", item_k ", options.item_k, "; ", reviews.size(), " reviews read)");
  dataset.num_items = static_cast<std::int32_t>(dataset.items.size() - 1);
  dataset.num_users = users;
  dataset.max_history_length = options.max_history_length;

  // Each user's interactions in time order (ties keep file order): bucket by user, then stable sort.
  std::vector<std::int64_t> start(static_cast<std::size_t>(users) + 1, 0);
  for (std::size_t r = 0; r < reviews.size(); ++r) {
    if (alive[r]) ++start[static_cast<std::size_t>(user_id[static_cast<std::size_t>(user_of[r])]) + 1];
  }
  std::partial_sum(start.begin(), start.end(), start.begin());
  std::vector<std::size_t> by_user(static_cast<std::size_t>(start.back()));
  {
    std::vector<std::int64_t> fill(start.begin(), start.end() - 1);
    for (std::size_t r = 0; r < reviews.size(); ++r) {
      if (alive[r])
        by_user[static_cast<std::size_t>(
            fill[static_cast<std::size_t>(user_id[static_cast<std::size_t>(user_of[r])])]++)] = r;
    }
  }
  for (std::int32_t u = 0; u < users; ++u) {
    std::stable_sort(by_user.begin() + start[static_cast<std::size_t>(u)],
                     by_user.begin() + start[static_cast<std::size_t>(u) + 1],
                     [&](std::size_t a, std::size_t b) { return reviews[a].timestamp_ms < reviews[b].timestamp_ms; });
  }
  auto item_at = [&](std::int64_t position) {
    return item_id[static_cast<std::size_t>(item_of[by_user[static_cast<std::size_t>(position)]])];
  };
  std::vector<ItemId> history;
  // Adds the sample (items before `position`, at most max_history_length) -> item at `position`.
  auto add_sample = [&](Split& split, std::int32_t user, std::int64_t user_start, std::int64_t position) {
    history.clear();
    for (std::int64_t p = std::max(user_start, position - options.max_history_length); p < position; ++p) {
      history.push_back(item_at(p));
    }
    split.add_row(user, history, item_at(position));
  };

  if (options.split == AmazonSplit::LeaveOneOut) {
    for (std::int32_t u = 0; u < users; ++u) {
      const std::int64_t first = start[static_cast<std::size_t>(u)];
      const std::int64_t n = start[static_cast<std::size_t>(u) + 1] - first;
      if (n < 2) {
        ++report.users_too_short;
        continue;
      }
      for (std::int64_t i = 1; i < n - 2; ++i) add_sample(dataset.train, u, first, first + i);
      if (n >= 3) add_sample(dataset.valid, u, first, first + n - 2);
      add_sample(dataset.test, u, first, first + n - 1);
    }
  } else {
    // Every sample i >= 1 of every user, sorted by the target's time (stable), split globally.
    struct Sample {
      std::int64_t time_ms;
      std::int32_t user;
      std::int64_t position;
    };
    std::vector<Sample> samples;
    for (std::int32_t u = 0; u < users; ++u) {
      const std::int64_t first = start[static_cast<std::size_t>(u)];
      const std::int64_t last = start[static_cast<std::size_t>(u) + 1];
      if (last - first < 2) ++report.users_too_short;
      for (std::int64_t p = first + 1; p < last; ++p) {
        samples.push_back({reviews[by_user[static_cast<std::size_t>(p)]].timestamp_ms, u, p});
      }
    }
    std::stable_sort(samples.begin(), samples.end(),
                     [](const Sample& a, const Sample& b) { return a.time_ms < b.time_ms; });
    const auto n = static_cast<double>(samples.size());
    const auto train_end = static_cast<std::size_t>(options.train_fraction * n);
    const auto valid_end = static_cast<std::size_t>((options.train_fraction + options.valid_fraction) * n);
    for (std::size_t s = 0; s < samples.size(); ++s) {
      Split& split = s < train_end ? dataset.train : s < valid_end ? dataset.valid : dataset.test;
      add_sample(split, samples[s].user, start[static_cast<std::size_t>(samples[s].user)], samples[s].position);
    }
  }
  for (SplitName which : {SplitName::Train, SplitName::Valid, SplitName::Test}) {
    RG_CHECK(!dataset.split(which).empty(), "Amazon reviews '", dataset.name, "': the ", split_name(which),
             " split has no rows (", users, " users and ", start.back(), " interactions after filtering; ",
             options.split == AmazonSplit::LeaveOneOut
                 ? "leave-one-out makes a test row of a user with 2 interactions, a valid row with 3, train rows with 4"
                 : "the time-window split cuts the samples at train_fraction and train_fraction + valid_fraction",
             ")");
  }
  dataset.validate();
  return dataset;
}

void read_amazon_metadata(const std::string& path, const AmazonRawOptions& options, SequenceDataset& dataset,
                          AmazonRawReport& report) {
  const std::string text = read_json_lines_file(path);
  std::unordered_map<std::string_view, std::size_t> index;
  for (std::size_t i = 1; i < dataset.items.size(); ++i) index.emplace(dataset.items[i].external_id, i);
  std::vector<bool> found(dataset.items.size(), false);
  for_each_json_line(text, [&](std::int64_t line, std::string_view content) {
    const auto at = [&] { return path + ":" + std::to_string(line) + ": "; };
    auto fail = [&](SkipReason reason, const std::string& what) {
      if (!options.lenient) throw Error(at() + what);
      report.metadata.skip(reason, at() + what);
    };
    std::string why;
    const json record = parse_line(content, why);
    if (record.is_discarded() || !record.is_object()) {
      fail(SkipReason::BadRecord, "not a JSON object" + (why.empty() ? "" : " (" + why + ")"));
      return;
    }
    const std::string* key = string_field(record, "parent_asin");
    if (key == nullptr) key = string_field(record, "asin");
    if (key == nullptr) {
      fail(SkipReason::BadRecord, "metadata without \"parent_asin\" or \"asin\"");
      return;
    }
    ++report.metadata.rows_read;
    const auto it = index.find(*key);
    if (it == index.end()) return;  // an item that the filters removed
    ItemInfo& item = dataset.items[it->second];
    found[it->second] = true;
    item.title = text_field(record, "title", " ");
    item.description = text_field(record, "description", " ");
    item.brand = record.contains("brand") ? text_field(record, "brand", " ") : text_field(record, "store", " ");
    item.categories =
        record.contains("category") ? text_field(record, "category", " > ") : text_field(record, "categories", " > ");
  });
  report.items_without_metadata = std::count(found.begin() + 1, found.end(), false);
}

SequenceDataset load_amazon_reviews(const std::string& reviews_path, const std::string& metadata_path,
                                    const AmazonRawOptions& options, AmazonRawReport* report) {
  RG_CHECK(!options.lenient || report != nullptr,
           "load_amazon_reviews: a lenient load needs an AmazonRawReport to count the lines it skips");
  AmazonRawReport local_report;
  AmazonRawReport& out = report != nullptr ? *report : local_report;
  out = AmazonRawReport{};
  const std::vector<AmazonReview> reviews = read_amazon_reviews(reviews_path, options, out);
  AmazonRawOptions named = options;
  if (named.name.empty()) {
    std::string stem = std::filesystem::path(reviews_path).filename().string();
    stem = stem.substr(0, stem.find('.'));
    named.name = stem;
  }
  SequenceDataset dataset = build_amazon_dataset(reviews, named, out);
  if (!metadata_path.empty()) read_amazon_metadata(metadata_path, options, dataset, out);
  return dataset;
}

}  // namespace recgrad::datasets
