#include "datasets/minionerec.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "core/error.h"
#include "datasets/csv.h"
#include "datasets/python_literal.h"
#include "datasets/text_lines.h"

namespace recgrad::datasets {
namespace {

namespace fs = std::filesystem;

// The single file in `folder` whose name ends with `suffix`; throws when there is none or several.
fs::path find_one(const fs::path& folder, const std::string& suffix) {
  RG_CHECK(fs::is_directory(folder), "MiniOneRec dataset: missing folder '", folder.string(), "'");
  std::vector<fs::path> matches, not_files;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      (entry.is_regular_file() ? matches : not_files).push_back(entry.path());
    }
  }
  RG_CHECK(!matches.empty() || not_files.empty(), "MiniOneRec dataset: '", not_files.front().string(),
           "' is not a regular file (a folder?)");
  RG_CHECK(!matches.empty(), "MiniOneRec dataset: no '*", suffix, "' file in '", folder.string(), "'");
  RG_CHECK(matches.size() == 1, "MiniOneRec dataset: several '*", suffix, "' files in '", folder.string(), "' (",
           matches[0].filename().string(), ", ", matches[1].filename().string(), "); expected one");
  return matches[0];
}

// Parses all of `text` as a non-negative decimal integer.
bool parse_int(std::string_view text, std::int64_t& value) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() && value >= 0;
}

// "<a_236><b_231><c_226>" -> {"<a_236>", "<b_231>", "<c_226>"}; empty on malformed input.
std::vector<std::string> split_semantic_id(std::string_view sid) {
  std::vector<std::string> tokens;
  std::size_t i = 0;
  while (i < sid.size()) {
    if (sid[i] != '<') return {};
    const std::size_t close = sid.find('>', i);
    if (close == std::string_view::npos || close == i + 1) return {};
    tokens.emplace_back(sid.substr(i, close - i + 1));
    i = close + 1;
  }
  return tokens;
}

std::string where(const fs::path& file, std::int64_t line) { return file.string() + ":" + std::to_string(line); }

// Reads info/*.txt into dataset.items (1..n) and returns each item's semantic ID as one string.
std::vector<std::string> read_info(const fs::path& file, SequenceDataset& dataset) {
  const std::string text = read_text_file(file.string());
  std::vector<std::string> sid_strings;
  std::vector<std::int64_t> line_of_item;
  dataset.items.assign(1, ItemInfo{});
  for_each_line(text, [&](std::int64_t line, std::string_view content) {
    if (content.empty()) return;
    const std::string encoding = utf8_problem(content);
    RG_CHECK(encoding.empty(), where(file, line), ": ", encoding);
    const std::size_t tab1 = content.find('\t');
    const std::size_t tab2 = tab1 == std::string_view::npos ? tab1 : content.find('\t', tab1 + 1);
    RG_CHECK(tab2 != std::string_view::npos && content.find('\t', tab2 + 1) == std::string_view::npos,
             where(file, line), ": expected 3 tab-separated fields (semantic ID, title, item id)");
    const std::string_view sid = content.substr(0, tab1);
    const std::string_view title = content.substr(tab1 + 1, tab2 - tab1 - 1);
    const std::string_view id_text = content.substr(tab2 + 1);
    std::int64_t id = 0;
    RG_CHECK(parse_int(id_text, id), where(file, line), ": item id '", id_text, "' is not a non-negative integer");
    const auto expected = static_cast<std::int64_t>(dataset.items.size() - 1);
    RG_CHECK(id >= expected, where(file, line), ": item id ", id, " repeats line ",
             line_of_item[static_cast<std::size_t>(id)], " (each item has one line, item i on line i+1)");
    RG_CHECK(id == expected, where(file, line), ": item id ", id, " out of order (expected ", expected,
             ": line i must hold item i-1)");
    line_of_item.push_back(line);
    ItemInfo item;
    item.external_id = std::string(id_text);
    item.title = std::string(title);
    item.semantic_id = split_semantic_id(sid);
    RG_CHECK(!item.semantic_id.empty(), where(file, line), ": semantic ID '", sid, "' is not a sequence of <token>s");
    dataset.items.push_back(std::move(item));
    sid_strings.emplace_back(sid);
  });
  RG_CHECK(sid_strings.size() >= 2, file.string(), ": the catalogue has ", sid_strings.size(),
           sid_strings.size() == 1 ? " item" : " items",
           "; at least 2 are needed (with one, every ranking metric is trivially 1)");
  dataset.num_items = static_cast<std::int32_t>(sid_strings.size());
  return sid_strings;
}

// Item id key of a JSON catalogue, checked against the item count.
std::int64_t catalogue_key(const fs::path& file, const std::string& key, std::int64_t num_items) {
  std::int64_t id = 0;
  RG_CHECK(parse_int(key, id) && id < num_items, file.string(), ": key \"", key, "\" is not an item id in 0..",
           num_items - 1);
  return id;
}

// Checks that the keys of the JSON catalogue `object` are the item ids 0..num_items-1, each named once
// ("1" and "01" both name item 1; a repeated key leaves one entry, so some item is missing).
void check_catalogue_keys(const fs::path& file, const nlohmann::json& object, const fs::path& info_file,
                          std::int64_t num_items) {
  std::vector<std::string> key_of(static_cast<std::size_t>(num_items));
  for (const auto& [key, value] : object.items()) {
    const auto id = static_cast<std::size_t>(catalogue_key(file, key, num_items));
    RG_CHECK(key_of[id].empty(), file.string(), ": the keys \"", key_of[id], "\" and \"", key, "\" both name item ",
             id);
    key_of[id] = key;
  }
  const auto missing = std::find(key_of.begin(), key_of.end(), std::string());
  RG_CHECK(missing == key_of.end(), file.string(), ": ", object.size(), " items, but ", info_file.string(), " has ",
           num_items, ": item ", missing - key_of.begin(), " is missing");
}

nlohmann::json read_json(const fs::path& file) {
  const std::string text = read_text_file(file.string());
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& error) {
    throw Error(file.string() + ": not valid JSON: " + error.what());
  }
}

// index/*.index.json: every item's semantic-ID tokens, which must equal those of info/*.txt.
void check_index(const fs::path& file, const fs::path& info_file, const SequenceDataset& dataset) {
  const nlohmann::json index = read_json(file);
  RG_CHECK(index.is_object(), file.string(), ": expected a JSON object {item id: [tokens]}");
  check_catalogue_keys(file, index, info_file, dataset.num_items);
  for (const auto& [key, tokens] : index.items()) {
    const std::int64_t id = catalogue_key(file, key, dataset.num_items);
    const ItemInfo& item = dataset.items[static_cast<std::size_t>(id) + 1];
    bool same = tokens.is_array() && tokens.size() == item.semantic_id.size();
    for (std::size_t t = 0; same && t < tokens.size(); ++t) {
      same = tokens[t].is_string() && tokens[t].get_ref<const std::string&>() == item.semantic_id[t];
    }
    RG_CHECK(same, file.string(), ": item ", key, " has semantic ID ", tokens.dump(), ", but ", info_file.string(),
             " line ", id + 1, " says ", nlohmann::json(item.semantic_id).dump());
  }
}

// index/*.item.json: description, brand and categories of every item.
void read_item_metadata(const fs::path& file, const fs::path& info_file, SequenceDataset& dataset) {
  const nlohmann::json catalogue = read_json(file);
  RG_CHECK(catalogue.is_object(), file.string(), ": expected a JSON object {item id: {title, description, ...}}");
  check_catalogue_keys(file, catalogue, info_file, dataset.num_items);
  auto text_of = [](const nlohmann::json& fields, const char* name) -> std::string {
    const auto found = fields.find(name);
    if (found == fields.end() || found->is_null()) return {};
    return found->is_string() ? found->get<std::string>() : found->dump();
  };
  for (const auto& [key, fields] : catalogue.items()) {
    const std::int64_t id = catalogue_key(file, key, dataset.num_items);
    RG_CHECK(fields.is_object(), file.string(), ": item ", key, " is not an object");
    ItemInfo& item = dataset.items[static_cast<std::size_t>(id) + 1];
    item.description = text_of(fields, "description");
    item.brand = text_of(fields, "brand");
    item.categories = text_of(fields, "categories");
    if (item.title.empty()) item.title = text_of(fields, "title");
  }
}

// A transparent hash of user names, so the map of names (with std::equal_to<>) is searched by string_view,
// without a string copy per row.
struct NameHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view name) const { return std::hash<std::string_view>{}(name); }
};

// Reads the split CSVs into the dataset's splits, numbering users by first appearance across them.
class SplitReader {
 public:
  SplitReader(SequenceDataset& dataset, const std::vector<std::string>& sid_strings, const LoadOptions& options,
              LoadReport& report)
      : dataset_(dataset), sid_strings_(sid_strings), options_(options), report_(report) {}

  // Reads `file` into the split `which`; `longest_history` grows to the longest history kept.
  void read(const fs::path& file, SplitName which, std::int32_t& longest_history) {
    Split& split = dataset_.split(which);
    const std::string text = read_text_file(file.string());
    RG_CHECK(!text.empty(), file.string(),
             ": the file is empty (expected a header row naming user_id, history_item_id and item_id, then rows)");
    CsvReader reader(text, file.string());
    CsvRow row;
    RG_CHECK(reader.next(row) && row.ok(), file.string(), ":1: malformed header row (", row.error, ")");
    const std::size_t columns = row.fields.size();
    header_.assign(row.fields.begin(), row.fields.end());
    const auto column = [&](std::string_view name, bool required) {
      const auto found = std::find(header_.begin(), header_.end(), name);
      RG_CHECK(!required || found != header_.end(), file.string(), ":1: the header lacks the column '", name, "'");
      RG_CHECK(found == header_.end() || std::find(found + 1, header_.end(), name) == header_.end(), file.string(),
               ":1: the header names the column '", name, "' twice");
      return found == header_.end() ? columns : static_cast<std::size_t>(found - header_.begin());
    };
    const std::size_t user_column = column("user_id", true);
    const std::size_t history_column = column("history_item_id", true);
    const std::size_t target_column = column("item_id", true);
    const std::size_t target_sid_column = column("item_sid", false);
    split.reserve(text.size() / 200, text.size() / 50);
    const std::int64_t skipped_before = report_.skipped_total();

    while (reader.next(row)) {
      const auto at = [&] { return where(file, row.line); };
      if (!row.ok()) {
        fail(row.truncated ? SkipReason::TruncatedRow : SkipReason::MalformedCsv, row.error);
        continue;
      }
      if (row.fields.size() == 1 && row.fields[0].empty()) continue;  // a blank line
      if (row.fields.size() != columns) {
        if (!row.ends_with_newline && row.fields.size() < columns) {
          fail(SkipReason::TruncatedRow, at() + ": the file ends inside this row (" +
                                             std::to_string(row.fields.size()) + " of " + std::to_string(columns) +
                                             " fields)");
        } else {
          fail(SkipReason::WrongColumnCount,
               at() + ": expected " + std::to_string(columns) + " fields, found " + std::to_string(row.fields.size()));
        }
        continue;
      }
      const auto not_utf8 = std::find_if(row.fields.begin(), row.fields.end(), [](std::string_view field) {
        return find_invalid_utf8(field) != std::string_view::npos;
      });
      if (not_utf8 != row.fields.end()) {
        const std::size_t bad = find_invalid_utf8(*not_utf8);
        char byte[8];
        std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned>(static_cast<unsigned char>((*not_utf8)[bad])));
        fail(SkipReason::BadEncoding, at() + ": the " +
                                          header_[static_cast<std::size_t>(not_utf8 - row.fields.begin())] +
                                          " field holds byte " + byte + " (at its byte " + std::to_string(bad + 1) +
                                          "), which is not valid UTF-8 (recgrad reads UTF-8 text; convert the file, "
                                          "e.g. `iconv -f latin1 -t utf-8`)");
        continue;
      }
      // user_id: any non-empty name
      const std::string_view user_name = row.fields[user_column];
      if (user_name.empty()) {
        fail(SkipReason::BadRecord, at() + ": user_id is empty");
        continue;
      }
      // item_id
      std::int64_t target = 0;
      if (!parse_int(row.fields[target_column], target)) {
        fail(SkipReason::BadNumber,
             at() + ": item_id '" + std::string(row.fields[target_column]) + "' is not a non-negative integer");
        continue;
      }
      if (target >= dataset_.num_items) {
        fail(SkipReason::UnknownItem, at() + ": item_id " + std::to_string(target) + " is not in the catalogue (0.." +
                                          std::to_string(dataset_.num_items - 1) + ")");
        continue;
      }
      if (target_sid_column < columns && row.fields[target_sid_column] != sid_strings_[target]) {
        fail(row.ends_with_newline ? SkipReason::InconsistentRow : SkipReason::TruncatedRow,
             at() + ": item_sid '" + std::string(row.fields[target_sid_column]) + "' is not the semantic ID of item " +
                 std::to_string(target) + " ('" + sid_strings_[target] + "')" +
                 (row.ends_with_newline ? "" : " (the file ends inside this row?)"));
        continue;
      }
      // history_item_id: "[i, j, ...]"
      try {
        parse_python_int_list(row.fields[history_column], history_);
      } catch (const Error& error) {
        fail(SkipReason::BadListLiteral, at() + ": history_item_id: " + error.what());
        continue;
      }
      if (history_.empty()) {
        fail(SkipReason::EmptySequence, at() + ": history_item_id is an empty list");
        continue;
      }
      const auto unknown = std::find_if(history_.begin(), history_.end(),
                                        [&](std::int64_t id) { return id < 0 || id >= dataset_.num_items; });
      if (unknown != history_.end()) {
        fail(SkipReason::UnknownItem, at() + ": history_item_id holds " + std::to_string(*unknown) +
                                          ", not an item in the catalogue (0.." +
                                          std::to_string(dataset_.num_items - 1) + ")");
        continue;
      }
      RG_CHECK(history_.size() <= static_cast<std::size_t>(INT32_MAX), at(), ": history_item_id holds ",
               history_.size(), " items, more than 2^31 - 1");
      std::size_t first = 0;
      if (options_.max_history_length > 0 && history_.size() > static_cast<std::size_t>(options_.max_history_length)) {
        first = history_.size() - static_cast<std::size_t>(options_.max_history_length);
        ++report_.histories_truncated;
      }
      shifted_.clear();
      for (std::size_t h = first; h < history_.size(); ++h) shifted_.push_back(static_cast<ItemId>(history_[h] + 1));
      split.add_row(user_id(user_name, at), shifted_, static_cast<ItemId>(target + 1));
      longest_history = std::max(longest_history, static_cast<std::int32_t>(shifted_.size()));
      ++report_.rows_read;
    }
    const std::int64_t skipped = report_.skipped_total() - skipped_before;
    RG_CHECK(!split.empty(), file.string(), ": the ", split_name(which), " split has no rows",
             skipped == 0 ? " (the file holds only a header)"
                          : " (" + std::to_string(skipped) + (skipped == 1 ? " row" : " rows") +
                                " skipped as malformed: see the LoadReport)");
  }

  // The names of the users, by id; empties the reader's table.
  std::vector<std::string> take_user_names() {
    user_ids_.clear();
    return std::move(user_names_);
  }

 private:
  // The dense id of the user named `name`: the next free one when the name is new.
  template <typename At>
  UserId user_id(std::string_view name, const At& at) {
    const auto found = user_ids_.find(name);
    if (found != user_ids_.end()) return found->second;
    RG_CHECK(user_names_.size() < static_cast<std::size_t>(INT32_MAX), at(), ": more than 2^31 - 1 users");
    const auto id = static_cast<UserId>(user_names_.size());
    user_names_.emplace_back(name);
    user_ids_.emplace(user_names_.back(), id);
    return id;
  }

  void fail(SkipReason reason, std::string message) {
    if (!options_.lenient) throw Error(message);
    report_.skip(reason, std::move(message));
  }

  SequenceDataset& dataset_;
  const std::vector<std::string>& sid_strings_;
  const LoadOptions& options_;
  LoadReport& report_;
  std::vector<std::string> header_;
  std::vector<std::int64_t> history_;
  std::vector<ItemId> shifted_;
  std::unordered_map<std::string, UserId, NameHash, std::equal_to<>> user_ids_;
  std::vector<std::string> user_names_;
};

}  // namespace

SequenceDataset load_minionerec(const std::string& folder, const LoadOptions& options, LoadReport* report) {
  RG_CHECK(!options.lenient || report != nullptr,
           "load_minionerec: a lenient load needs a LoadReport to count the rows it skips");
  RG_CHECK(options.max_history_length >= 0, "load_minionerec: max_history_length must be >= 0, got ",
           options.max_history_length);
  fs::path root = fs::path(folder).lexically_normal();
  if (root.filename().empty()) root = root.parent_path();  // "dir/" -> "dir"
  RG_CHECK(fs::is_directory(root), "load_minionerec: '", folder, "' is not a folder");
  LoadReport local_report;
  LoadReport& out_report = report != nullptr ? *report : local_report;
  out_report = LoadReport{};

  SequenceDataset dataset;
  dataset.name = fs::absolute(root).lexically_normal().filename().string();
  const fs::path info_file = find_one(root / "info", ".txt");
  const std::vector<std::string> sid_strings = read_info(info_file, dataset);
  check_index(find_one(root / "index", ".index.json"), info_file, dataset);
  read_item_metadata(find_one(root / "index", ".item.json"), info_file, dataset);

  SplitReader reader(dataset, sid_strings, options, out_report);
  std::int32_t longest_history = 0;
  for (SplitName which : {SplitName::Train, SplitName::Valid, SplitName::Test}) {
    reader.read(find_one(root / split_name(which), ".csv"), which, longest_history);
  }
  dataset.user_names = reader.take_user_names();
  dataset.num_users = static_cast<std::int32_t>(dataset.user_names.size());
  dataset.max_history_length = options.max_history_length > 0 ? options.max_history_length : longest_history;
  dataset.validate();
  return dataset;
}

}  // namespace recgrad::datasets
