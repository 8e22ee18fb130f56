#include "recsys/generative/semantic_ids.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"

namespace recgrad::recsys {

using datasets::ItemId;

std::span<const std::int32_t> SemanticIds::of(ItemId item) const {
  RG_CHECK(item >= 1 && item <= num_items, "SemanticIds: item ", item, " is not in 1..", num_items);
  const auto width = static_cast<std::size_t>(levels());
  return {codes.data() + static_cast<std::size_t>(item) * width, width};
}

std::string SemanticIds::text(ItemId item) const {
  std::string out;
  const auto item_codes = of(item);
  for (std::size_t l = 0; l < item_codes.size(); ++l)
    out += semantic_token(static_cast<std::int64_t>(l), item_codes[l]);
  return out;
}

std::string SemanticIds::fingerprint() const {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  const auto feed = [&](std::int64_t value) {
    for (int byte = 0; byte < 8; ++byte) {
      hash ^= static_cast<std::uint64_t>(value >> (8 * byte)) & 0xffU;
      hash *= 0x100000001b3ULL;
    }
  };
  feed(num_items);
  for (const std::int64_t size : codebook_sizes) feed(size);
  for (const std::int32_t code : codes) feed(code);
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

std::string semantic_token(std::int64_t level, std::int64_t code) {
  RG_CHECK(level >= 0 && level < 26, "semantic_token: level ", level, " has no letter (levels are a..z)");
  return "<" + std::string(1, static_cast<char>('a' + level)) + "_" + std::to_string(code) + ">";
}

std::int32_t parse_semantic_token(const std::string& token, std::int64_t level, const std::string& where) {
  const char letter = static_cast<char>('a' + level);
  const bool shaped = token.size() >= 5 && token.front() == '<' && token.back() == '>' && token[2] == '_' &&
                      token[1] >= 'a' && token[1] <= 'z';
  RG_CHECK(shaped, where, ": semantic-ID token '", token, "' is malformed (expected <", letter, "_N>)");
  RG_CHECK(token[1] == letter, where, ": semantic-ID token '", token, "' is at level ", level + 1,
           " of its SID, which takes <", letter, "_N> tokens");
  std::int64_t code = -1;
  const char* begin = token.data() + 3;
  const char* end = token.data() + token.size() - 1;
  const auto [stop, error] = std::from_chars(begin, end, code);
  RG_CHECK(error == std::errc() && stop == end && code >= 0, where, ": semantic-ID token '", token,
           "' does not end in a non-negative integer code");
  RG_CHECK(code < kMaxSemanticCode, where, ": semantic-ID token '", token, "' has code ", code, ", above the bound ",
           kMaxSemanticCode - 1);
  return static_cast<std::int32_t>(code);
}

namespace {

// Fills codebook_sizes from the codes: 1 + the largest code of each level.
void size_codebooks(SemanticIds& sids) {
  const std::int64_t width = sids.levels();
  std::fill(sids.codebook_sizes.begin(), sids.codebook_sizes.end(), 0);
  for (ItemId item = 1; item <= sids.num_items; ++item) {
    for (std::int64_t l = 0; l < width; ++l) {
      const std::int64_t code = sids.codes[static_cast<std::size_t>(item * width + l)];
      sids.codebook_sizes[static_cast<std::size_t>(l)] =
          std::max(sids.codebook_sizes[static_cast<std::size_t>(l)], code + 1);
    }
  }
}

// Parses the tokens of every item (tokens_of(item) gives them); `where(item)` names the item in messages.
template <typename TokensOf, typename Where>
SemanticIds parse_all(std::int64_t num_items, TokensOf tokens_of, Where where) {
  RG_CHECK(num_items >= 1, "semantic IDs: the catalogue is empty");
  SemanticIds sids;
  sids.num_items = num_items;
  std::int64_t width = -1;
  ItemId first_item = 0;
  for (ItemId item = 1; item <= num_items; ++item) {
    const std::vector<std::string>& tokens = tokens_of(item);
    RG_CHECK(!tokens.empty(), where(item), " has no semantic ID");
    if (width < 0) {
      width = static_cast<std::int64_t>(tokens.size());
      first_item = item;
      sids.codebook_sizes.assign(static_cast<std::size_t>(width), 0);
      sids.codes.assign(static_cast<std::size_t>((num_items + 1) * width), 0);
    }
    RG_CHECK(static_cast<std::int64_t>(tokens.size()) == width, where(item), " has a semantic ID of ", tokens.size(),
             " tokens, but ", where(first_item), " has ", width, ": every SID must have the same depth");
    for (std::int64_t l = 0; l < width; ++l) {
      sids.codes[static_cast<std::size_t>(item * width + l)] =
          parse_semantic_token(tokens[static_cast<std::size_t>(l)], l, where(item));
    }
  }
  size_codebooks(sids);
  return sids;
}

}  // namespace

SemanticIds semantic_ids_of_items(const datasets::SequenceDataset& data, const std::string& source) {
  return parse_all(
      data.num_items, [&](ItemId item) -> const std::vector<std::string>& { return data.item(item).semantic_id; },
      [&](ItemId item) {
        return source + ": item " + std::to_string(item) + " ('" + data.item(item).external_id + "')";
      });
}

SemanticIds with_dedup_level(const SemanticIds& sids) {
  const std::int64_t width = sids.levels();
  SemanticIds out;
  out.num_items = sids.num_items;
  out.codebook_sizes = sids.codebook_sizes;
  out.codebook_sizes.push_back(1);
  out.codes.assign(static_cast<std::size_t>((sids.num_items + 1) * (width + 1)), 0);
  std::map<std::vector<std::int32_t>, std::int32_t> seen;  // SID -> items with it so far
  for (ItemId item = 1; item <= sids.num_items; ++item) {
    const auto codes = sids.of(item);
    std::int32_t& count = seen[std::vector<std::int32_t>(codes.begin(), codes.end())];
    std::copy(codes.begin(), codes.end(), out.codes.begin() + item * (width + 1));
    out.codes[static_cast<std::size_t>(item * (width + 1) + width)] = count;
    ++count;
    out.codebook_sizes.back() = std::max<std::int64_t>(out.codebook_sizes.back(), count);
  }
  return out;
}

SemanticIdUsage semantic_id_usage(const SemanticIds& sids) {
  const std::int64_t width = sids.levels();
  SemanticIdUsage usage;
  usage.codes_used.assign(static_cast<std::size_t>(width), 0);
  usage.prefixes.assign(static_cast<std::size_t>(width), 0);
  for (std::int64_t l = 0; l < width; ++l) {
    std::set<std::int32_t> used;
    std::set<std::vector<std::int32_t>> prefixes;
    for (ItemId item = 1; item <= sids.num_items; ++item) {
      const auto codes = sids.of(item);
      used.insert(codes[static_cast<std::size_t>(l)]);
      prefixes.insert(std::vector<std::int32_t>(codes.begin(), codes.begin() + l + 1));
    }
    usage.codes_used[static_cast<std::size_t>(l)] = static_cast<std::int64_t>(used.size());
    usage.prefixes[static_cast<std::size_t>(l)] = static_cast<std::int64_t>(prefixes.size());
  }
  std::map<std::vector<std::int32_t>, std::int64_t> groups;
  for (ItemId item = 1; item <= sids.num_items; ++item) {
    const auto codes = sids.of(item);
    ++groups[std::vector<std::int32_t>(codes.begin(), codes.end())];
  }
  usage.distinct_ids = static_cast<std::int64_t>(groups.size());
  for (const auto& [sid, count] : groups) {
    if (count < 2) continue;
    usage.colliding_items += count;
    ++usage.colliding_groups;
    usage.largest_group = std::max(usage.largest_group, count);
  }
  return usage;
}

std::string SemanticIdUsage::to_string(const SemanticIds& sids) const {
  std::ostringstream out;
  for (std::size_t l = 0; l < codes_used.size(); ++l) {
    out << "level " << static_cast<char>('a' + l) << ": " << codes_used[l] << "/" << sids.codebook_sizes[l]
        << " codes used, " << prefixes[l] << " distinct prefixes\n";
  }
  out << "distinct SIDs: " << distinct_ids << " for " << sids.num_items << " items; collisions: " << colliding_items
      << " items in " << colliding_groups << " groups";
  if (colliding_groups > 0) out << " (largest " << largest_group << ")";
  out << "\n";
  return out.str();
}

SemanticIds read_semantic_id_index(const std::string& path, std::int64_t num_items) {
  std::ifstream in(path, std::ios::binary);
  RG_CHECK(in.good(), "semantic-ID index '", path, "' cannot be opened");
  std::stringstream buffer;
  buffer << in.rdbuf();
  nlohmann::json index;
  try {
    index = nlohmann::json::parse(buffer.str());
  } catch (const nlohmann::json::exception& error) {
    throw Error(detail::concat(path, ": not valid JSON: ", error.what()));
  }
  RG_CHECK(index.is_object(), path, ": expected a JSON object {item index: [tokens]}");
  std::vector<std::vector<std::string>> tokens(static_cast<std::size_t>(num_items) + 1);
  std::vector<bool> present(static_cast<std::size_t>(num_items) + 1, false);
  for (const auto& [key, value] : index.items()) {
    std::int64_t index_of_item = -1;
    const auto [stop, error] = std::from_chars(key.data(), key.data() + key.size(), index_of_item);
    RG_CHECK(error == std::errc() && stop == key.data() + key.size() && index_of_item >= 0 && index_of_item < num_items,
             path, ": key '", key, "' is not an item index in 0..", num_items - 1);
    const auto item = static_cast<std::size_t>(index_of_item + 1);
    RG_CHECK(value.is_array(), path, ": item ", key, ": expected an array of tokens, got ", value.dump());
    for (const auto& token : value) {
      RG_CHECK(token.is_string(), path, ": item ", key, ": token ", token.dump(), " is not a string");
      tokens[item].push_back(token.get<std::string>());
    }
    present[item] = true;
  }
  for (std::int64_t item = 1; item <= num_items; ++item) {
    RG_CHECK(present[static_cast<std::size_t>(item)], path, ": item ", item - 1,
             " has no semantic ID (the index covers ", index.size(), " of ", num_items, " items)");
  }
  return parse_all(
      num_items, [&](ItemId item) -> const std::vector<std::string>& { return tokens[static_cast<std::size_t>(item)]; },
      [&](ItemId item) { return path + ": item " + std::to_string(item - 1); });
}

void write_semantic_id_index(const std::string& path, const SemanticIds& sids) {
  nlohmann::ordered_json index = nlohmann::ordered_json::object();
  for (ItemId item = 1; item <= sids.num_items; ++item) {
    nlohmann::ordered_json tokens = nlohmann::ordered_json::array();
    const auto codes = sids.of(item);
    for (std::size_t l = 0; l < codes.size(); ++l)
      tokens.push_back(semantic_token(static_cast<std::int64_t>(l), codes[l]));
    index[std::to_string(item - 1)] = tokens;
  }
  write_file_atomically(path, index.dump() + "\n", "write_semantic_id_index");
}

}  // namespace recgrad::recsys
