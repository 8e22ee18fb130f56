#include "datasets/minionerec.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <nlohmann/json.hpp>

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
  std::vector<fs::path> matches;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      matches.push_back(entry.path());
    }
  }
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
  const std::string text = read_file(file.string());
  std::vector<std::string> sid_strings;
  dataset.items.assign(1, ItemInfo{});
  for_each_line(text, [&](std::int64_t line, std::string_view content) {
    if (content.empty()) return;
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
    RG_CHECK(id == expected, where(file, line), ": item id ", id, " out of order (expected ", expected,
             ": line i must hold item i-1)");
    ItemInfo item;
    item.external_id = std::string(id_text);
    item.title = std::string(title);
    item.semantic_id = split_semantic_id(sid);
    RG_CHECK(!item.semantic_id.empty(), where(file, line), ": semantic ID '", sid, "' is not a sequence of <token>s");
    dataset.items.push_back(std::move(item));
    sid_strings.emplace_back(sid);
  });
  RG_CHECK(!sid_strings.empty(), file.string(), ": no items");
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

nlohmann::json read_json(const fs::path& file) {
  const std::string text = read_file(file.string());
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
  RG_CHECK(index.size() == static_cast<std::size_t>(dataset.num_items), file.string(), ": ", index.size(),
           " items, but ", info_file.string(), " has ", dataset.num_items);
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
void read_item_metadata(const fs::path& file, SequenceDataset& dataset) {
  const nlohmann::json catalogue = read_json(file);
  RG_CHECK(catalogue.is_object(), file.string(), ": expected a JSON object {item id: {title, description, ...}}");
  RG_CHECK(catalogue.size() == static_cast<std::size_t>(dataset.num_items), file.string(), ": ", catalogue.size(),
           " items, but the info file has ", dataset.num_items);
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

// Reads one split CSV into `split`.
class SplitReader {
 public:
  SplitReader(const SequenceDataset& dataset, const std::vector<std::string>& sid_strings, const LoadOptions& options,
              LoadReport& report)
      : dataset_(dataset), sid_strings_(sid_strings), options_(options), report_(report) {}

  void read(const fs::path& file, Split& split, std::int32_t& max_user, std::int32_t& longest_history) {
    const std::string text = read_file(file.string());
    CsvReader reader(text, file.string());
    CsvRow row;
    RG_CHECK(reader.next(row) && row.ok(), file.string(), ":1: missing or malformed header row");
    const std::size_t columns = row.fields.size();
    const auto column = [&](std::string_view name, bool required) {
      const auto found = std::find(row.fields.begin(), row.fields.end(), name);
      RG_CHECK(!required || found != row.fields.end(), file.string(), ":1: the header lacks the column '", name, "'");
      return found == row.fields.end() ? columns : static_cast<std::size_t>(found - row.fields.begin());
    };
    const std::size_t user_column = column("user_id", true);
    const std::size_t history_column = column("history_item_id", true);
    const std::size_t target_column = column("item_id", true);
    const std::size_t target_sid_column = column("item_sid", false);
    split.reserve(text.size() / 200, text.size() / 50);

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
      // user_id: "A<int>"
      std::string_view user_text = row.fields[user_column];
      if (!user_text.empty() && user_text.front() == 'A') user_text.remove_prefix(1);
      std::int64_t user = 0;
      if (!parse_int(user_text, user) || user > INT32_MAX - 1) {
        fail(SkipReason::BadNumber, at() + ": user_id '" + std::string(row.fields[user_column]) +
                                        "' is not of the form A<non-negative integer>");
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
      std::size_t first = 0;
      if (options_.max_history_length > 0 && history_.size() > static_cast<std::size_t>(options_.max_history_length)) {
        first = history_.size() - static_cast<std::size_t>(options_.max_history_length);
        ++report_.histories_truncated;
      }
      shifted_.clear();
      for (std::size_t h = first; h < history_.size(); ++h) shifted_.push_back(static_cast<ItemId>(history_[h] + 1));
      split.add_row(static_cast<UserId>(user), shifted_, static_cast<ItemId>(target + 1));
      max_user = std::max(max_user, static_cast<std::int32_t>(user));
      longest_history = std::max(longest_history, static_cast<std::int32_t>(shifted_.size()));
      ++report_.rows_read;
    }
  }

 private:
  void fail(SkipReason reason, std::string message) {
    if (!options_.lenient) throw Error(message);
    report_.skip(reason, std::move(message));
  }

  const SequenceDataset& dataset_;
  const std::vector<std::string>& sid_strings_;
  const LoadOptions& options_;
  LoadReport& report_;
  std::vector<std::int64_t> history_;
  std::vector<ItemId> shifted_;
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
  read_item_metadata(find_one(root / "index", ".item.json"), dataset);

  SplitReader reader(dataset, sid_strings, options, out_report);
  std::int32_t max_user = -1;
  std::int32_t longest_history = 0;
  for (SplitName which : {SplitName::Train, SplitName::Valid, SplitName::Test}) {
    reader.read(find_one(root / split_name(which), ".csv"), dataset.split(which), max_user, longest_history);
  }
  dataset.num_users = max_user + 1;
  dataset.max_history_length = options.max_history_length > 0 ? options.max_history_length : longest_history;
  dataset.validate();
  return dataset;
}

}  // namespace recgrad::datasets
