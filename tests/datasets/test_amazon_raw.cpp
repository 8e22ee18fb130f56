// Raw Amazon reviews (2018 and 2023 JSON lines) -> k-core -> leave-one-out or time-window splits,
// on small files written here.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "datasets/amazon_raw.h"
#include "test_support.h"

namespace recgrad::datasets {
namespace {

namespace fs = std::filesystem;
using recgrad::testing::expect_error;
using recgrad::testing::ScratchDir;

struct Review {
  const char* user;
  const char* item;
  std::int64_t seconds;
};

// u1: A B C D, u2: A B C, u3: B D survive a 2-core; u4 (one review, of E) and u5 (F, seen once, then
// A, left alone once F is gone) do not. The file lists reviews out of time order.
const std::vector<Review> kReviews = {{"u1", "C", 30}, {"u4", "E", 5},  {"u1", "A", 10}, {"u2", "A", 15},
                                      {"u5", "F", 7},  {"u3", "B", 12}, {"u1", "B", 20}, {"u2", "B", 25},
                                      {"u5", "A", 8},  {"u2", "C", 35}, {"u1", "D", 40}, {"u3", "D", 50}};

std::string reviews_2018(const std::vector<Review>& reviews) {
  std::string text;
  for (const Review& r : reviews) {
    text += std::string(R"({"overall": 5.0, "verified": true, "reviewTime": "01 1, 2018", "reviewerID": ")") + r.user +
            R"(", "asin": ")" + r.item + R"(", "reviewText": "fine, \"really\"", "unixReviewTime": )" +
            std::to_string(r.seconds) + "}\n";
  }
  return text;
}

std::string reviews_2023(const std::vector<Review>& reviews) {
  std::string text;
  for (const Review& r : reviews) {
    text += std::string(R"({"rating": 4.0, "title": "ok", "text": "x", "images": [], "asin": "child-)") + r.item +
            R"(", "parent_asin": ")" + r.item + R"(", "user_id": ")" + r.user + R"(", "timestamp": )" +
            std::to_string(r.seconds * 1000 + 123) + R"(, "verified_purchase": true})" + "\n";
  }
  return text;
}

AmazonRawOptions two_core(AmazonSplit split) {
  AmazonRawOptions options;
  options.user_k = 2;
  options.item_k = 2;
  options.split = split;
  return options;
}

std::vector<ItemId> history_of(const Split& split, std::size_t row) {
  const auto h = split.history(row);
  return {h.begin(), h.end()};
}

TEST(AmazonRaw, KCoreCascadesAndNumbersByFirstAppearance) {
  ScratchDir dir;
  AmazonRawReport report;
  const SequenceDataset d = load_amazon_reviews(dir.write("Tools_5.json", reviews_2018(kReviews)), "",
                                                two_core(AmazonSplit::LeaveOneOut), &report);
  EXPECT_EQ(d.name, "Tools_5");
  EXPECT_EQ(report.reviews.rows_read, 12);
  EXPECT_EQ(report.removed_by_k_core, 3);  // round 1: u4's E, u5's F; round 2: u5's A
  EXPECT_EQ(report.k_core_rounds, 3);
  ASSERT_EQ(d.num_items, 4);
  EXPECT_EQ(d.num_users, 3);
  // Items by first appearance among the survivors: C=1, A=2, B=3, D=4.
  EXPECT_EQ(d.item(1).external_id, "C");
  EXPECT_EQ(d.item(2).external_id, "A");
  EXPECT_EQ(d.item(3).external_id, "B");
  EXPECT_EQ(d.item(4).external_id, "D");
}

TEST(AmazonRaw, LeaveOneOutSplit) {
  ScratchDir dir;
  const SequenceDataset d =
      load_amazon_reviews(dir.write("r.json", reviews_2018(kReviews)), "", two_core(AmazonSplit::LeaveOneOut));
  // Sequences: u1 (0): A B C D = 2 3 1 4; u2 (1): 2 3 1; u3 (2): 3 4.
  ASSERT_EQ(d.train.size(), 1u);
  EXPECT_EQ(d.train.users[0], 0);
  EXPECT_EQ(history_of(d.train, 0), (std::vector<ItemId>{2}));
  EXPECT_EQ(d.train.targets[0], 3);
  ASSERT_EQ(d.valid.size(), 2u);
  EXPECT_EQ(history_of(d.valid, 0), (std::vector<ItemId>{2, 3}));
  EXPECT_EQ(d.valid.targets[0], 1);
  EXPECT_EQ(d.valid.users[1], 1);
  EXPECT_EQ(history_of(d.valid, 1), (std::vector<ItemId>{2}));
  EXPECT_EQ(d.valid.targets[1], 3);
  ASSERT_EQ(d.test.size(), 3u);
  EXPECT_EQ(history_of(d.test, 0), (std::vector<ItemId>{2, 3, 1}));
  EXPECT_EQ(d.test.targets[0], 4);
  EXPECT_EQ(history_of(d.test, 1), (std::vector<ItemId>{2, 3}));
  EXPECT_EQ(d.test.targets[1], 1);
  EXPECT_EQ(history_of(d.test, 2), (std::vector<ItemId>{3}));
  EXPECT_EQ(d.test.targets[2], 4);
  // Every interaction is visible once: 4 + 3 + 2.
  EXPECT_EQ(d.statistics().interactions, 9);
}

TEST(AmazonRaw, TimeWindowSplitIsGlobalAndTimeSorted) {
  ScratchDir dir;
  AmazonRawOptions options = two_core(AmazonSplit::TimeWindow);
  options.max_history_length = 2;
  const SequenceDataset d = load_amazon_reviews(dir.write("r.json", reviews_2018(kReviews)), "", options);
  // Samples by target time: 20 u1 B, 25 u2 B, 30 u1 C, 35 u2 C | 40 u1 D | 50 u3 D  (N = 6: 4 / 1 / 1).
  ASSERT_EQ(d.train.size(), 4u);
  EXPECT_EQ(d.train.users, (std::vector<UserId>{0, 1, 0, 1}));
  EXPECT_EQ(d.train.targets, (std::vector<ItemId>{3, 3, 1, 1}));
  EXPECT_EQ(history_of(d.train, 2), (std::vector<ItemId>{2, 3}));
  ASSERT_EQ(d.valid.size(), 1u);
  EXPECT_EQ(d.valid.users[0], 0);
  EXPECT_EQ(history_of(d.valid, 0), (std::vector<ItemId>{3, 1}));  // A B C cut to the last 2
  EXPECT_EQ(d.valid.targets[0], 4);
  ASSERT_EQ(d.test.size(), 1u);
  EXPECT_EQ(d.test.users[0], 2);
  EXPECT_EQ(history_of(d.test, 0), (std::vector<ItemId>{3}));
  EXPECT_EQ(d.test.targets[0], 4);
}

TEST(AmazonRaw, Format2023GivesTheSameDatasetAndReadsMetadata) {
  ScratchDir dir;
  const std::string reviews_path = dir.write("Tools.jsonl", reviews_2023(kReviews));
  const std::string meta_path = dir.write(
      "meta_Tools.jsonl",
      R"({"main_category": "Tools", "title": "Item A", "store": "Acme", "categories": ["Tools", "Hand"], "description": ["Line 1", "Line 2"], "parent_asin": "A"})"
      "\n"
      R"({"title": "Item E, filtered out", "parent_asin": "E"})"
      "\n"
      R"({"title": "Item C", "parent_asin": "C", "description": []})"
      "\n");
  AmazonRawReport report;
  const SequenceDataset d = load_amazon_reviews(reviews_path, meta_path, two_core(AmazonSplit::LeaveOneOut), &report);
  const SequenceDataset d2018 =
      load_amazon_reviews(dir.write("r.json", reviews_2018(kReviews)), "", two_core(AmazonSplit::LeaveOneOut));
  EXPECT_EQ(d.test.targets, d2018.test.targets);
  EXPECT_EQ(d.test.history_items, d2018.test.history_items);
  EXPECT_EQ(d.valid.history_items, d2018.valid.history_items);
  EXPECT_EQ(d.item(2).external_id, "A");
  EXPECT_EQ(d.item(2).title, "Item A");
  EXPECT_EQ(d.item(2).brand, "Acme");
  EXPECT_EQ(d.item(2).categories, "Tools > Hand");
  EXPECT_EQ(d.item(2).description, "Line 1 Line 2");
  EXPECT_EQ(d.item(1).title, "Item C");
  EXPECT_EQ(report.metadata.rows_read, 3);
  EXPECT_EQ(report.items_without_metadata, 2);  // B and D
}

TEST(AmazonRaw, Metadata2018) {
  ScratchDir dir;
  const std::string meta_path = dir.write(
      "meta_Tools.json",
      R"({"asin": "B", "title": "Item B", "brand": "Bolt", "category": ["Industrial", "Fasteners"], "description": "One line"})"
      "\n");
  AmazonRawReport report;
  const SequenceDataset d = load_amazon_reviews(dir.write("r.json", reviews_2018(kReviews)), meta_path,
                                                two_core(AmazonSplit::LeaveOneOut), &report);
  EXPECT_EQ(d.item(3).title, "Item B");
  EXPECT_EQ(d.item(3).brand, "Bolt");
  EXPECT_EQ(d.item(3).categories, "Industrial > Fasteners");
  EXPECT_EQ(d.item(3).description, "One line");
  EXPECT_EQ(report.items_without_metadata, 3);
}

TEST(AmazonRaw, TimeWindowFilterAndRepeats) {
  ScratchDir dir;
  std::vector<Review> reviews = kReviews;
  reviews.push_back({"u1", "A", 45});  // a repeat of u1's A
  AmazonRawOptions options = two_core(AmazonSplit::LeaveOneOut);
  AmazonRawReport report;
  const std::string path = dir.write("r.json", reviews_2018(reviews));
  const SequenceDataset with_repeat = load_amazon_reviews(path, "", options, &report);
  EXPECT_EQ(with_repeat.test.targets[0], 2);  // u1's last interaction is A again
  options.keep_repeats = false;
  const SequenceDataset without = load_amazon_reviews(path, "", options, &report);
  EXPECT_EQ(report.repeats_removed, 1);
  EXPECT_EQ(without.test.targets[0], 4);

  // [12, 46): drops u4 E (5), u5 F (7), u5 A (8), u1 A (10) and u3 D (50); u1's A at 45 is no longer a
  // repeat, and gives u1 the 4 interactions of a train row (a split without rows is an error).
  options.min_timestamp = 12;
  options.max_timestamp = 46;
  options.user_k = 1;
  options.item_k = 1;
  const SequenceDataset windowed = load_amazon_reviews(path, "", options, &report);
  EXPECT_EQ(report.outside_time_window, 5);
  EXPECT_EQ(report.reviews.rows_read, 8);
  EXPECT_EQ(report.repeats_removed, 0);
  EXPECT_EQ(windowed.statistics().interactions, 8 - 1);  // u3 is left with B only: too short for a row
  EXPECT_EQ(report.users_too_short, 1);
  EXPECT_EQ(windowed.train.size(), 1u);
}

TEST(AmazonRaw, MalformedLinesFailWithFileAndLineOrAreCounted) {
  ScratchDir dir;
  std::string text = reviews_2018(kReviews);
  text.insert(0, "{\"reviewerID\": \"u9\", \"asin\": \"A\"}\n");  // line 1: no time
  text += "not json at all\n";                                    // line 14
  text += R"({"reviewerID": "u9", "asin": "B", "unixReviewTime": "yesterday"})"
          "\n";  // line 15
  text += R"({"something": "else"})"
          "\n";                                              // line 16
  text += R"({"reviewerID": "u1", "asin": "B", "unixRevi)";  // line 17: cut
  const std::string path = dir.write("bad.json", text);
  expect_error([&] { load_amazon_reviews(path, "", two_core(AmazonSplit::LeaveOneOut)); },
               {path + ":1: missing or non-integer \"unixReviewTime\""});
  AmazonRawOptions lenient = two_core(AmazonSplit::LeaveOneOut);
  lenient.lenient = true;
  expect_error([&] { load_amazon_reviews(path, "", lenient); }, {"needs an AmazonRawReport"});
  AmazonRawReport report;
  const SequenceDataset d = load_amazon_reviews(path, "", lenient, &report);
  EXPECT_EQ(report.reviews.rows_read, 12);
  EXPECT_EQ(report.reviews.skipped_for(SkipReason::BadNumber), 2);
  EXPECT_EQ(report.reviews.skipped_for(SkipReason::BadRecord), 2);
  EXPECT_EQ(report.reviews.skipped_for(SkipReason::TruncatedRow), 1);
  EXPECT_NE(report.reviews.examples[1].find(path + ":14: not a JSON object"), std::string::npos);
  EXPECT_NE(report.reviews.examples[4].find(path + ":17: not a complete JSON object (file truncated?)"),
            std::string::npos);
  EXPECT_EQ(d.num_items, 4);
  EXPECT_NE(report.to_string().find("skipped 5"), std::string::npos) << report.to_string();
}

TEST(AmazonRaw, GzipIsRefusedWithAHint) {
  ScratchDir dir;
  const std::string path = dir.write("r.json.gz", std::string("\x1f\x8b\x08\x00rest", 8));
  expect_error([&] { load_amazon_reviews(path, ""); }, {"gzip-compressed", "gunzip -k"});
}

TEST(AmazonRaw, NothingLeftIsAnError) {
  ScratchDir dir;
  AmazonRawOptions options;
  options.user_k = 10;
  expect_error([&] { load_amazon_reviews(dir.write("r.json", reviews_2018(kReviews)), "", options); },
               {"no interactions left", "user_k 10"});
}

// ---- Bad inputs (issue 13) ----

TEST(AmazonRaw, TimestampsOutOfRangeAreBadNumbers) {
  ScratchDir dir;
  // 2018 times are seconds, scaled to milliseconds: this one would overflow 64 bits.
  const std::string path2018 =
      dir.write("r.json", R"({"reviewerID": "u1", "asin": "A", "unixReviewTime": 9223372036854776})"
                          "\n");
  expect_error([&] { load_amazon_reviews(path2018, ""); },
               {path2018 + ":1: \"unixReviewTime\" 9223372036854776 is out of range"});
  // Larger than any signed 64-bit value.
  const std::string path2023 =
      dir.write("r.jsonl", R"({"user_id": "u1", "parent_asin": "A", "timestamp": 18446744073709551615})"
                           "\n");
  expect_error([&] { load_amazon_reviews(path2023, ""); },
               {path2023 + ":1: \"timestamp\" 18446744073709551615 is out of range"});
}

TEST(AmazonRaw, AnEmptySplitIsAnError) {
  ScratchDir dir;
  // Every user has two interactions: leave-one-out has a test row per user and no valid row.
  const std::vector<Review> pairs = {{"u1", "A", 1}, {"u1", "B", 2}, {"u2", "B", 3}, {"u2", "A", 4}};
  AmazonRawOptions options = two_core(AmazonSplit::LeaveOneOut);
  const std::string path = dir.write("pairs.json", reviews_2018(pairs));
  expect_error([&] { load_amazon_reviews(path, "", options); },
               {"Amazon reviews 'pairs': the train split has no rows", "2 users"});
  // A time-window split with no valid share.
  options = two_core(AmazonSplit::TimeWindow);
  options.valid_fraction = 0;
  expect_error([&] { load_amazon_reviews(dir.write("r.json", reviews_2018(kReviews)), "", options); },
               {"valid_fraction"});
}

TEST(AmazonRaw, LineEndsByteOrderMarksFoldersAndBadBytes) {
  ScratchDir dir;
  const SequenceDataset unix_dataset =
      load_amazon_reviews(dir.write("r.json", reviews_2018(kReviews)), "", two_core(AmazonSplit::LeaveOneOut));
  // A BOM and old-Mac line ends read the same reviews.
  std::string text = "\xEF\xBB\xBF" + reviews_2018(kReviews);
  for (char& c : text) c = c == '\n' ? '\r' : c;
  const SequenceDataset mac = load_amazon_reviews(dir.write("mac.json", text), "", two_core(AmazonSplit::LeaveOneOut));
  EXPECT_EQ(mac.fingerprint(), unix_dataset.fingerprint());
  // A folder given as the reviews file.
  const fs::path folder = fs::path(dir.write("marker", "")).parent_path() / "folder.json";
  fs::create_directories(folder);
  expect_error([&] { load_amazon_reviews(folder.string(), ""); }, {folder.string(), "is a folder, not a file"});
  // A line that is not UTF-8: the message says why the JSON does not parse.
  const std::string bad = dir.write(
      "bad.json", "{\"reviewerID\": \"u\xE9\", \"asin\": \"A\", \"unixReviewTime\": 1}\n" + reviews_2018(kReviews));
  expect_error([&] { load_amazon_reviews(bad, "", two_core(AmazonSplit::LeaveOneOut)); },
               {bad + ":1: not a JSON object", "UTF-8"});
}

}  // namespace
}  // namespace recgrad::datasets
