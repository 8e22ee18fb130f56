// Semantic IDs (recsys/generative/semantic_ids.h) and the trie of constrained decoding (sid_trie.h): parsing
// and its errors, TIGER's deduplication level, usage counts, the index.json round trip, and the trie against
// brute-force enumeration; on the shared Amazon release, the collision counts its SOURCE.md states.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "datasets/minionerec.h"
#include "recsys/generative/semantic_ids.h"
#include "recsys/generative/sid_trie.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::recsys;
using datasets::ItemId;
using recgrad::testing::expect_error;
using recgrad::testing::read_bytes;
using recgrad::testing::write_bytes;

namespace {

// A catalogue whose items carry the given SIDs (item i + 1 has sids[i]).
datasets::SequenceDataset catalogue(const std::vector<std::vector<std::string>>& sids) {
  datasets::SequenceDataset data;
  data.num_items = static_cast<std::int32_t>(sids.size());
  data.items.resize(sids.size() + 1);
  for (std::size_t i = 0; i < sids.size(); ++i) {
    data.items[i + 1].external_id = std::to_string(i);
    data.items[i + 1].semantic_id = sids[i];
  }
  return data;
}

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "/recgrad_sid_" + name + "_" +
         ::testing::UnitTest::GetInstance()->current_test_info()->name();
}

}  // namespace

TEST(SemanticIds, TokensParseAndPrint) {
  EXPECT_EQ(parse_semantic_token("<a_12>", 0, "here"), 12);
  EXPECT_EQ(parse_semantic_token("<c_0>", 2, "here"), 0);
  EXPECT_EQ(semantic_token(1, 200), "<b_200>");
  expect_error([] { parse_semantic_token("<a_12", 0, "f.json: item 3"); }, {"f.json: item 3", "'<a_12'", "malformed"});
  expect_error([] { parse_semantic_token("<b_1>", 0, "x"); }, {"'<b_1>'", "level 1", "<a_N>"});
  expect_error([] { parse_semantic_token("<a_x1>", 0, "x"); }, {"'<a_x1>'", "integer"});
  expect_error([] { parse_semantic_token("<a_-1>", 0, "x"); }, {"'<a_-1>'"});
  expect_error([] { parse_semantic_token("<a_99999999>", 0, "x"); }, {"99999999", "bound"});
}

TEST(SemanticIds, FromItemsWithCodebookSizes) {
  const auto data = catalogue({{"<a_1>", "<b_2>"}, {"<a_0>", "<b_5>"}, {"<a_1>", "<b_0>"}});
  const SemanticIds sids = semantic_ids_of_items(data, "test");
  EXPECT_EQ(sids.levels(), 2);
  EXPECT_EQ(sids.codebook_sizes, (std::vector<std::int64_t>{2, 6}));
  EXPECT_EQ(std::vector<std::int32_t>(sids.of(2).begin(), sids.of(2).end()), (std::vector<std::int32_t>{0, 5}));
  EXPECT_EQ(sids.text(3), "<a_1><b_0>");
}

TEST(SemanticIds, AnItemWithoutOrWithAnInconsistentSidIsNamed) {
  expect_error(
      [] {
        (void)semantic_ids_of_items(catalogue({{"<a_1>", "<b_2>"}, {}}), "info/X.txt");
      },
      {"info/X.txt", "item 2 ('1')", "no semantic ID"});
  expect_error(
      [] {
        (void)semantic_ids_of_items(catalogue({{"<a_1>", "<b_2>"}, {"<a_1>"}}), "src");
      },
      {"item 2", "1 tokens", "item 1", "same depth"});
  expect_error([] { (void)semantic_ids_of_items(catalogue({{"<a_1>", "<a_2>"}}), "src"); }, {"item 1", "'<a_2>'"});
}

TEST(SemanticIds, DedupLevelNumbersItemsWithinAGroup) {
  // items 1, 3 and 4 share (1, 2); item 2 is unique
  const auto data = catalogue({{"<a_1>", "<b_2>"}, {"<a_0>", "<b_5>"}, {"<a_1>", "<b_2>"}, {"<a_1>", "<b_2>"}});
  const SemanticIds sids = semantic_ids_of_items(data, "test");
  const SemanticIdUsage before = semantic_id_usage(sids);
  EXPECT_EQ(before.distinct_ids, 2);
  EXPECT_EQ(before.colliding_items, 3);
  EXPECT_EQ(before.colliding_groups, 1);
  EXPECT_EQ(before.largest_group, 3);
  EXPECT_EQ(before.codes_used, (std::vector<std::int64_t>{2, 2}));
  const SemanticIds unique = with_dedup_level(sids);
  EXPECT_EQ(unique.levels(), 3);
  EXPECT_EQ(unique.codebook_sizes.back(), 3);
  EXPECT_EQ(unique.text(1), "<a_1><b_2><c_0>");
  EXPECT_EQ(unique.text(2), "<a_0><b_5><c_0>");
  EXPECT_EQ(unique.text(3), "<a_1><b_2><c_1>");
  EXPECT_EQ(unique.text(4), "<a_1><b_2><c_2>");
  const SemanticIdUsage after = semantic_id_usage(unique);
  EXPECT_EQ(after.distinct_ids, 4);
  EXPECT_EQ(after.colliding_items, 0);
  EXPECT_NE(after.to_string(unique).find("collisions: 0 items in 0 groups"), std::string::npos);
}

TEST(SemanticIds, IndexJsonRoundTripsAndBadFilesAreNamed) {
  const auto data = catalogue({{"<a_1>", "<b_2>"}, {"<a_0>", "<b_5>"}, {"<a_1>", "<b_0>"}});
  const SemanticIds sids = with_dedup_level(semantic_ids_of_items(data, "test"));
  const std::string path = temp_path("index.json");
  write_semantic_id_index(path, sids);
  const SemanticIds back = read_semantic_id_index(path, 3);
  EXPECT_EQ(back.codes, sids.codes);
  EXPECT_EQ(back.codebook_sizes, sids.codebook_sizes);

  write_bytes(path, R"({"0": ["<a_1>", "<b_2>"], "2": ["<a_1>", "<b_0>"]})");
  expect_error([&] { (void)read_semantic_id_index(path, 3); }, {path, "item 1 has no semantic ID", "2 of 3"});
  write_bytes(path, R"({"0": ["<a_1>", "<b_2>"], "1": ["<a_1>"], "2": ["<a_1>", "<b_0>"]})");
  expect_error([&] { (void)read_semantic_id_index(path, 3); }, {path, "item 1", "same depth"});
  write_bytes(path, R"({"0": ["<a_1>", "<b_2>"], "1": ["<a_1>", "b_3"], "2": ["<a_1>", "<b_0>"]})");
  expect_error([&] { (void)read_semantic_id_index(path, 3); }, {path, "item 1", "'b_3'", "malformed"});
  write_bytes(path, R"({"0": ["<a_1>"], "7": ["<a_1>"]})");
  expect_error([&] { (void)read_semantic_id_index(path, 3); }, {path, "'7'", "0..2"});
  write_bytes(path, R"({"0": ["<a_1>"],)");
  expect_error([&] { (void)read_semantic_id_index(path, 1); }, {path, "not valid JSON"});
  std::filesystem::remove(path);
}

TEST(SidTrie, EveryPathIsAnItemAndEveryItemAPath) {
  // 40 items over 3 levels with shared prefixes, built from a fixed pattern.
  std::vector<std::vector<std::string>> tokens;
  for (int i = 0; i < 40; ++i) {
    tokens.push_back({semantic_token(0, (i * 7) % 5), semantic_token(1, (i * 3) % 4), semantic_token(2, i / 20)});
  }
  const SemanticIds sids = with_dedup_level(semantic_ids_of_items(catalogue(tokens), "test"));
  const SidTrie trie(sids);
  EXPECT_EQ(trie.levels(), 4);
  // Enumerate every root-to-leaf path: each ends on a distinct item whose SID is the path.
  std::set<ItemId> found;
  std::function<void(SidTrie::Node, std::vector<std::int32_t>&)> walk = [&](SidTrie::Node node,
                                                                            std::vector<std::int32_t>& path) {
    if (trie.depth(node) == trie.levels()) {
      const ItemId item = trie.item(node);
      EXPECT_TRUE(found.insert(item).second) << "item " << item << " reached twice";
      EXPECT_EQ(std::vector<std::int32_t>(sids.of(item).begin(), sids.of(item).end()), path);
      EXPECT_EQ(trie.leaf_of(item), node);
      return;
    }
    std::int32_t previous = -1;
    for (const SidTrie::Child& child : trie.children(node)) {
      EXPECT_GT(child.code, previous) << "children are sorted by code";
      previous = child.code;
      EXPECT_EQ(trie.child(node, child.code), child.node);
      EXPECT_EQ(trie.depth(child.node), trie.depth(node) + 1);
      path.push_back(child.code);
      walk(child.node, path);
      path.pop_back();
    }
  };
  std::vector<std::int32_t> path;
  walk(SidTrie::kRoot, path);
  EXPECT_EQ(static_cast<std::int64_t>(found.size()), sids.num_items);
  // A code that no item continues with is absent.
  EXPECT_EQ(trie.child(SidTrie::kRoot, 99), SidTrie::kNone);
  // Prefix counts equal the distinct prefixes.
  const SemanticIdUsage usage = semantic_id_usage(sids);
  std::int64_t nodes = 1;
  for (std::int64_t p : usage.prefixes) nodes += p;
  EXPECT_EQ(trie.num_nodes(), nodes);
}

TEST(SidTrie, SharedSidsAreRefusedUntilDeduplicated) {
  const SemanticIds sids =
      semantic_ids_of_items(catalogue({{"<a_1>", "<b_2>"}, {"<a_0>", "<b_1>"}, {"<a_1>", "<b_2>"}}), "test");
  expect_error([&] { SidTrie trie(sids); }, {"items 1 and 3", "<a_1><b_2>", "with_dedup_level"});
  EXPECT_NO_THROW(SidTrie trie(with_dedup_level(sids)));
}

TEST(SemanticIds, TheSharedReleaseHasTheCollisionsItsSourceStates) {
  const std::filesystem::path folder =
      std::filesystem::path(RECGRAD_SHARED_DIR) / "data/amazon/Industrial_and_Scientific";
  if (!std::filesystem::exists(folder)) GTEST_SKIP() << "dataset not found: " << folder;
  const datasets::SequenceDataset data = datasets::load_minionerec(folder.string());
  const SemanticIds sids = semantic_ids_of_items(data, folder.string());
  const SemanticIdUsage usage = semantic_id_usage(sids);
  EXPECT_EQ(sids.levels(), 3);
  EXPECT_EQ(usage.colliding_items, 31);  // "31 items in 15 groups (<= 3 per group)"
  EXPECT_EQ(usage.colliding_groups, 15);
  EXPECT_LE(usage.largest_group, 3);
  EXPECT_EQ(usage.codes_used, (std::vector<std::int64_t>{48, 256, 256}));
  EXPECT_EQ(usage.prefixes[1], 2295);
  const SemanticIds unique = with_dedup_level(sids);
  EXPECT_EQ(semantic_id_usage(unique).distinct_ids, data.num_items);
  const SidTrie trie(unique);
  for (ItemId item = 1; item <= data.num_items; ++item) ASSERT_EQ(trie.item(trie.leaf_of(item)), item);
}
