// CSV reader, Python-literal parsers, SequenceDataset statistics and the MiniOneRec loader:
// on the shared Industrial_and_Scientific release and on small malformed folders written here.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "core/error.h"
#include "datasets/csv.h"
#include "datasets/load_options.h"
#include "datasets/minionerec.h"
#include "datasets/python_literal.h"
#include "datasets/sequence_dataset.h"
#include "datasets/text_lines.h"
#include "test_support.h"

namespace recgrad::datasets {
namespace {

namespace fs = std::filesystem;
using recgrad::testing::expect_error;
using recgrad::testing::ScratchDir;

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::vector<std::string> fields_of(const CsvRow& row) { return {row.fields.begin(), row.fields.end()}; }

// ---- CSV ----

TEST(Csv, PlainQuotedEscapedAndMultiLineFields) {
  const std::string text =
      "a,b,c\n"
      "1,\"x, y\",\"say \"\"hi\"\"\"\n"
      "2,\"two\nlines\",\r\n"
      "3,,last";
  CsvReader reader(text, "t.csv");
  CsvRow row;
  ASSERT_TRUE(reader.next(row));
  EXPECT_EQ(fields_of(row), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(row.line, 1);
  ASSERT_TRUE(reader.next(row));
  EXPECT_TRUE(row.ok()) << row.error;
  EXPECT_EQ(fields_of(row), (std::vector<std::string>{"1", "x, y", "say \"hi\""}));
  EXPECT_EQ(row.line, 2);
  ASSERT_TRUE(reader.next(row));
  EXPECT_EQ(fields_of(row), (std::vector<std::string>{"2", "two\nlines", ""}));
  EXPECT_EQ(row.line, 3);
  ASSERT_TRUE(reader.next(row));
  EXPECT_EQ(fields_of(row), (std::vector<std::string>{"3", "", "last"}));
  EXPECT_EQ(row.line, 5);  // the quoted newline moved the count on
  EXPECT_FALSE(row.ends_with_newline);
  EXPECT_FALSE(reader.next(row));
}

TEST(Csv, EscapesInSeveralFieldsOfOneRowStayIntact) {
  const std::string text = "\"a\"\"1\",\"b\"\"2\",\"c\"\"3\"\n";
  CsvReader reader(text, "t.csv");
  CsvRow row;
  ASSERT_TRUE(reader.next(row));
  EXPECT_EQ(fields_of(row), (std::vector<std::string>{"a\"1", "b\"2", "c\"3"}));
}

TEST(Csv, TextAfterAClosingQuoteIsReportedAndReadingResumes) {
  const std::string text = "\"a\"b,c\nd,e\n";
  CsvReader reader(text, "q.csv");
  CsvRow row;
  ASSERT_TRUE(reader.next(row));
  EXPECT_NE(row.error.find("q.csv:1: unexpected character 'b' after a closing quote"), std::string::npos) << row.error;
  ASSERT_TRUE(reader.next(row));
  EXPECT_TRUE(row.ok());
  EXPECT_EQ(fields_of(row), (std::vector<std::string>{"d", "e"}));
  EXPECT_EQ(row.line, 2);
}

TEST(Csv, TrailingCommaAtTheEndGivesAnEmptyLastField) {
  CsvReader reader("1,\"2\",", "t.csv");
  CsvRow row;
  ASSERT_TRUE(reader.next(row));
  EXPECT_EQ(fields_of(row), (std::vector<std::string>{"1", "2", ""}));
}

TEST(Csv, ReadFileNamesAMissingFile) {
  expect_error([] { read_file("/nonexistent/recgrad/file.csv"); }, {"/nonexistent/recgrad/file.csv"});
}

// ---- Python literals ----

TEST(PythonLiteral, IntLists) {
  EXPECT_EQ(parse_python_int_list("[3437, 642, 642]"), (std::vector<std::int64_t>{3437, 642, 642}));
  EXPECT_EQ(parse_python_int_list("[]"), (std::vector<std::int64_t>{}));
  EXPECT_EQ(parse_python_int_list("  [ 1,2 ,3, ]  "), (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(parse_python_int_list("[-4, +5]"), (std::vector<std::int64_t>{-4, 5}));
}

TEST(PythonLiteral, BadIntListsSayWhatIsWrong) {
  expect_error([] { parse_python_int_list("[1, 2"); }, {"expected ',' or ']' but the text ended"});
  expect_error([] { parse_python_int_list("1, 2]"); }, {"expected '['"});
  expect_error([] { parse_python_int_list("[1, x]"); }, {"expected an integer", "character 4"});
  expect_error([] { parse_python_int_list("[1.5]"); }, {"found a number with '.'"});
  expect_error([] { parse_python_int_list("[1 2]"); }, {"expected ',' or ']', found '2'"});
  expect_error([] { parse_python_int_list("[1,,2]"); }, {"expected an integer"});
  expect_error([] { parse_python_int_list("[1] 2"); }, {"after the closing ']'"});
  expect_error([] { parse_python_int_list("[99999999999999999999]"); }, {"out of range"});
  expect_error([] { parse_python_int_list(""); }, {"expected '['"});
}

TEST(PythonLiteral, StringListsWithBothQuotesAndEscapes) {
  EXPECT_EQ(parse_python_string_list("['a', \"b's\"]"), (std::vector<std::string>{"a", "b's"}));
  EXPECT_EQ(parse_python_string_list(R"(['it\'s', "say \"x\"", 'back\\slash', 'tab\there'])"),
            (std::vector<std::string>{"it's", "say \"x\"", "back\\slash", "tab\there"}));
  EXPECT_EQ(parse_python_string_list(R"(['\xe9\u00e9\U0001F600', 'caf)"
                                     "\xc3\xa9"
                                     R"(', 'a, b'])"),
            (std::vector<std::string>{"\xc3\xa9\xc3\xa9\xf0\x9f\x98\x80", "caf\xc3\xa9", "a, b"}));
  EXPECT_EQ(parse_python_string_list("[]"), (std::vector<std::string>{}));
  EXPECT_EQ(parse_python_string("'<a_1><b_2>'"), "<a_1><b_2>");
}

TEST(PythonLiteral, BadStringLists) {
  expect_error([] { parse_python_string_list("['a', 'b]"); }, {"unterminated string"});
  expect_error([] { parse_python_string_list("[a]"); }, {"expected a quoted string, found 'a'"});
  expect_error([] { parse_python_string_list(R"(['\x4'])"); }, {"hexadecimal escape"});
  expect_error([] { parse_python_string_list("['a' 'b']"); }, {"expected ',' or ']'"});
}

// ---- SequenceDataset ----

// Two users: user 0 sees items 1,2,3 (sliding windows), user 1 sees 1,1; item 4 is never seen.
SequenceDataset tiny_dataset() {
  SequenceDataset d;
  d.name = "tiny";
  d.num_items = 4;
  d.num_users = 2;
  d.max_history_length = 2;
  d.items.resize(5);
  const std::vector<ItemId> h1 = {1}, h12 = {1, 2};
  d.train.add_row(0, h1, 2);
  d.train.add_row(1, h1, 1);
  d.valid.add_row(0, h12, 3);
  return d;
}

TEST(SequenceDataset, RowsAreViewsIntoTheColumns) {
  const SequenceDataset d = tiny_dataset();
  ASSERT_EQ(d.train.size(), 2u);
  const SequenceRow row = d.valid.row(0);
  EXPECT_EQ(row.user, 0);
  EXPECT_EQ(std::vector<ItemId>(row.history.begin(), row.history.end()), (std::vector<ItemId>{1, 2}));
  EXPECT_EQ(row.target, 3);
  expect_error([&] { d.test.row(0); }, {"row 0 out of range"});
  expect_error([&] { d.item(5); }, {"item id 5 is not in 1..4"});
  SequenceDataset complete = d;  // validate() wants rows in every split
  complete.test.add_row(1, std::vector<ItemId>{1}, 2);
  complete.validate();
}

TEST(SequenceDataset, StatisticsCountVisibleInteractionsAndSkew) {
  const DatasetStatistics st = tiny_dataset().statistics();
  EXPECT_EQ(st.users, 2);
  EXPECT_EQ(st.items, 4);
  EXPECT_EQ(st.items_seen, 3);
  // user 0: 2 rows + first history {1} = 3 (items 1,2,3); user 1: 1 row + {1} = 2 (items 1,1).
  EXPECT_EQ(st.interactions, 5);
  EXPECT_EQ(st.sequence_length_min, 2);
  EXPECT_EQ(st.sequence_length_max, 3);
  EXPECT_DOUBLE_EQ(st.sequence_length_mean, 2.5);
  // counts sorted ascending: 0 (item 4), 1, 1, 3 (item 1); n = 4, total 5.
  // Gini = ((2-5)*0 + (4-5)*1 + (6-5)*1 + (8-5)*3) / (4*5) = 9/20.
  EXPECT_DOUBLE_EQ(st.popularity_gini, 9.0 / 20.0);
  EXPECT_DOUBLE_EQ(st.top1_percent_share, 3.0 / 5.0);  // ceil(0.04) = 1 item
  EXPECT_EQ(st.most_popular_item_count, 3);
  EXPECT_DOUBLE_EQ(st.history_length_mean_train, 1.0);
  EXPECT_DOUBLE_EQ(st.history_length_mean_valid, 2.0);
  const std::string text = st.to_string();
  EXPECT_NE(text.find("dataset tiny"), std::string::npos) << text;
  EXPECT_NE(text.find("Gini 0.4500"), std::string::npos) << text;
}

TEST(SequenceDataset, ValidateNamesTheBadValue) {
  SequenceDataset d = tiny_dataset();
  const std::vector<ItemId> bad = {7};
  d.test.add_row(1, bad, 2);
  expect_error([&] { d.validate(); }, {"split test", "row 0", "history item 7"});
  SequenceDataset e = tiny_dataset();
  e.train.add_row(5, {}, 2);
  expect_error([&] { e.validate(); }, {"split train", "row 2", "user 5"});
  SequenceDataset f = tiny_dataset();
  const std::vector<ItemId> long_history = {1, 2, 3};
  f.train.add_row(0, long_history, 4);
  expect_error([&] { f.validate(); }, {"longer than max_history_length 2"});
}

// ---- MiniOneRec: the shared release ----

const fs::path kIndustrial = fs::path(RECGRAD_SHARED_DIR) / "data/amazon/Industrial_and_Scientific";

TEST(MiniOneRec, IndustrialReleaseCounts) {
  if (!fs::is_directory(kIndustrial)) GTEST_SKIP() << "no dataset at " << kIndustrial << " (see SOURCE.md)";
  LoadReport report;
  const SequenceDataset d = load_minionerec(kIndustrial.string(), {}, &report);
  EXPECT_EQ(d.name, "Industrial_and_Scientific");
  EXPECT_EQ(d.num_items, 3686);
  EXPECT_EQ(d.items.size(), 3687u);
  // Counted independently with Python's csv + ast.literal_eval (see the report of issue 6).
  EXPECT_EQ(d.train.size(), 10393u);
  EXPECT_EQ(d.valid.size(), 4532u);
  EXPECT_EQ(d.test.size(), 4533u);
  EXPECT_EQ(report.rows_read, 10393 + 4532 + 4533);
  EXPECT_EQ(report.skipped_total(), 0);
  EXPECT_EQ(d.num_users, 3285);  // distinct user names (the largest is A7693: ids are names, not sizes)
  EXPECT_EQ(d.user_names.size(), 3285u);
  EXPECT_EQ(d.max_history_length, 10);
  EXPECT_EQ(d.valid.history_items.size(), 21040u);  // sum of history lengths, from the same script
  EXPECT_EQ(d.test.history_items.size(), 22468u);

  // First train row: A5382,[3437] -> 642 (file ids; +1 in the dataset).
  const SequenceRow first = d.train.row(0);
  EXPECT_EQ(first.user, 0);  // the first user to appear
  EXPECT_EQ(d.user_names[0], "A5382");
  ASSERT_EQ(first.history.size(), 1u);
  EXPECT_EQ(first.history[0], 3438);
  EXPECT_EQ(first.target, 643);
  EXPECT_EQ(d.item(643).external_id, "642");
  EXPECT_EQ(d.item(643).title, "Dap 08648 10.1 oz. 100% Silicone Kitchen and Bath Sealant, Clear");
  EXPECT_EQ(d.item(643).semantic_id, (std::vector<std::string>{"<a_244>", "<b_35>", "<c_73>"}));
  EXPECT_EQ(d.item(1).brand, "Sealed Unit Parts Co., Inc.");
  EXPECT_EQ(d.item(1).semantic_id, (std::vector<std::string>{"<a_236>", "<b_231>", "<c_226>"}));

  // Statistics, also counted independently in Python (per user: rows + shortest history).
  const DatasetStatistics st = d.statistics();
  EXPECT_EQ(st.rows_test, 4533);
  EXPECT_EQ(st.users, 3285);
  EXPECT_EQ(st.interactions, 22743);
  EXPECT_EQ(st.items_seen, 3541);
  EXPECT_EQ(st.sequence_length_min, 5);
  EXPECT_EQ(st.sequence_length_median, 6);
  EXPECT_EQ(st.sequence_length_max, 34);
  EXPECT_NEAR(st.popularity_gini, 0.5095225021268461, 1e-12);
  EXPECT_NEAR(st.top1_percent_share, 0.12183968693663985, 1e-12);
  EXPECT_EQ(st.most_popular_item_count, 421);
  std::cout << st;
}

// ---- MiniOneRec: small folders with faults ----

const char* kHeader = "user_id,history_item_title,item_title,history_item_id,item_id,history_item_sid,item_sid\n";

// A three-item release named "Tiny" whose train/valid/test CSVs are `train`, `valid`, `test`.
fs::path write_release(const fs::path& root, const std::string& train, const std::string& valid = "",
                       const std::string& test = "") {
  const fs::path folder = root / "Tiny";
  write_text(folder / "info/Tiny.txt", "<a_1><b_1>\tItem zero\t0\n<a_1><b_2>\tItem one\t1\n<a_2><b_1>\tItem two\t2\n");
  write_text(folder / "index/Tiny.index.json",
             R"({"0": ["<a_1>", "<b_1>"], "1": ["<a_1>", "<b_2>"], "2": ["<a_2>", "<b_1>"]})");
  write_text(folder / "index/Tiny.item.json",
             R"({"0": {"title": "Item zero", "description": "d0", "brand": "B", "categories": ""},
                 "1": {"title": "Item one", "description": "", "brand": "", "categories": ""},
                 "2": {"title": "Item two", "description": "", "brand": "", "categories": ""}})");
  write_text(folder / "train/Tiny.csv", kHeader + train);
  write_text(folder / "valid/Tiny.csv", kHeader + valid);
  write_text(folder / "test/Tiny.csv", kHeader + test);
  return folder;
}

const std::string kGoodRow = "A1,['Item zero'],Item one,[0],1,['<a_1><b_1>'],<a_1><b_2>\n";
const std::string kGoodRow2 =
    "A2,\"['Item zero', 'Item one']\",Item two,\"[0, 1]\",2,\"['<a_1><b_1>', '<a_1><b_2>']\",<a_2><b_1>\n";

TEST(MiniOneRec, SmallReleaseLoads) {
  ScratchDir dir;
  const fs::path folder = write_release(dir.path(), kGoodRow + kGoodRow2, kGoodRow, kGoodRow2);
  const SequenceDataset d = load_minionerec(folder.string() + "/");
  EXPECT_EQ(d.name, "Tiny");
  EXPECT_EQ(d.num_items, 3);
  EXPECT_EQ(d.num_users, 2);  // A1 and A2
  EXPECT_EQ(d.train.size(), 2u);
  EXPECT_EQ(d.train.row(1).target, 3);
  EXPECT_EQ(std::vector<ItemId>(d.train.row(1).history.begin(), d.train.row(1).history.end()),
            (std::vector<ItemId>{1, 2}));
  EXPECT_EQ(d.item(1).description, "d0");
  EXPECT_EQ(d.max_history_length, 2);

  LoadOptions cut;
  cut.max_history_length = 1;
  LoadReport report;
  const SequenceDataset c = load_minionerec(folder.string(), cut, &report);
  EXPECT_EQ(std::vector<ItemId>(c.train.row(1).history.begin(), c.train.row(1).history.end()),
            (std::vector<ItemId>{2}));
  EXPECT_EQ(report.histories_truncated, 2);  // train and test each hold one two-item history
}

struct Fault {
  const char* name;
  std::string row;  // a bad train row, placed after a good one (so at line 3), and before another
                    // good one unless it has no newline (a truncated file ends with it)
  SkipReason reason;
  std::string message;  // part of the error
};

TEST(MiniOneRec, MalformedRowsFailWithFileLineAndReason) {
  const std::vector<Fault> faults = {
      {"bad list literal", "A3,['Item zero'],Item one,\"[0, x]\",1,['<a_1><b_1>'],<a_1><b_2>\n",
       SkipReason::BadListLiteral, "history_item_id: bad Python literal"},
      {"unterminated list", "A3,['Item zero'],Item one,[0,1,['<a_1><b_1>'],<a_1><b_2>\n", SkipReason::BadListLiteral,
       "history_item_id: bad Python literal \"[0\": expected ',' or ']' but the text ended"},
      {"too many columns", "A3,['Item zero'],Item one,[0],1,['<a_1><b_1>'],<a_1><b_2>,extra\n",
       SkipReason::WrongColumnCount, "expected 7 fields, found 8"},
      {"unknown target", "A3,['Item zero'],Item one,[0],3,['<a_1><b_1>'],<a_1><b_2>\n", SkipReason::UnknownItem,
       "item_id 3 is not in the catalogue (0..2)"},
      {"unknown history item", "A3,['Item zero'],Item one,\"[0, 17]\",1,['<a_1><b_1>'],<a_1><b_2>\n",
       SkipReason::UnknownItem, "history_item_id holds 17"},
      {"too few columns", "A3,['Item zero'],Item one,[0],1,<a_1><b_2>\n", SkipReason::WrongColumnCount,
       "expected 7 fields, found 6"},
      {"empty sequence", "A3,[],Item one,[],1,[],<a_1><b_2>\n", SkipReason::EmptySequence,
       "history_item_id is an empty list"},
      {"empty user", ",['Item zero'],Item one,[0],1,['<a_1><b_1>'],<a_1><b_2>\n", SkipReason::BadRecord,
       "user_id is empty"},
      {"bad item id", "A3,['Item zero'],Item one,[0],1.0,['<a_1><b_1>'],<a_1><b_2>\n", SkipReason::BadNumber,
       "item_id '1.0'"},
      {"wrong item sid", "A3,['Item zero'],Item one,[0],1,['<a_1><b_1>'],<a_2><b_1>\n", SkipReason::InconsistentRow,
       "is not the semantic ID of item 1"},
      {"truncated inside a quote", "A3,\"['Item zero', 'It", SkipReason::TruncatedRow,
       "a quoted field opened here is never closed"},
      {"truncated between fields", "A3,['Item zero'],Item one,[0]", SkipReason::TruncatedRow,
       "the file ends inside this row (4 of 7 fields)"},
      {"truncated inside the last field", "A3,['Item zero'],Item one,[0],1,['<a_1><b_1>'],<a_1><b_",
       SkipReason::TruncatedRow, "the file ends inside this row?"},
      {"stray quote", "A3,\"['Item zero']\"x,Item one,[0],1,['<a_1><b_1>'],<a_1><b_2>\n", SkipReason::MalformedCsv,
       "after a closing quote"},
  };
  for (const Fault& fault : faults) {
    SCOPED_TRACE(fault.name);
    ScratchDir dir;
    const bool at_end = fault.row.back() != '\n';
    const fs::path folder =
        write_release(dir.path(), kGoodRow + fault.row + (at_end ? "" : kGoodRow2), kGoodRow, kGoodRow);
    const std::string train_file = (folder / "train/Tiny.csv").string();
    expect_error([&] { load_minionerec(folder.string()); }, {train_file + ":3: ", fault.message});

    // Lenient: the bad row is skipped and counted; the others load.
    LoadOptions lenient;
    lenient.lenient = true;
    LoadReport report;
    const SequenceDataset d = load_minionerec(folder.string(), lenient, &report);
    EXPECT_EQ(report.skipped_total(), 1) << report.to_string();
    EXPECT_EQ(report.skipped_for(fault.reason), 1) << report.to_string();
    ASSERT_EQ(report.examples.size(), 1u);
    EXPECT_NE(report.examples[0].find(fault.message), std::string::npos) << report.examples[0];
    EXPECT_EQ(d.train.size(), at_end ? 1u : 2u);
    EXPECT_EQ(d.valid.size(), 1u);
    EXPECT_EQ(report.rows_read, static_cast<std::int64_t>(d.train.size() + d.valid.size() + d.test.size()));
    EXPECT_NE(report.to_string().find(std::string("1 ") + skip_reason_name(fault.reason)), std::string::npos)
        << report.to_string();
  }
}

TEST(MiniOneRec, LenientNeedsAReportAndCountsEveryReason) {
  ScratchDir dir;
  const fs::path folder =
      write_release(dir.path(), kGoodRow + "A3,[],x,[],1,[],<a_1><b_2>\nA4,x,y,[0],9,[],<a_1><b_2>\n" + kGoodRow2,
                    "A5,a,b,c\n" + kGoodRow, kGoodRow2);
  LoadOptions lenient;
  lenient.lenient = true;
  expect_error([&] { load_minionerec(folder.string(), lenient); }, {"needs a LoadReport"});
  LoadReport report;
  const SequenceDataset d = load_minionerec(folder.string(), lenient, &report);
  EXPECT_EQ(report.skipped_for(SkipReason::EmptySequence), 1);
  EXPECT_EQ(report.skipped_for(SkipReason::UnknownItem), 1);
  EXPECT_EQ(report.skipped_for(SkipReason::WrongColumnCount), 1);
  EXPECT_EQ(report.skipped_total(), 3);
  EXPECT_EQ(report.rows_read, 4);
  EXPECT_EQ(d.train.size() + d.valid.size() + d.test.size(), 4u);
  EXPECT_NE(report.examples[2].find("valid/Tiny.csv:2:"), std::string::npos) << report.examples[2];
}

TEST(MiniOneRec, CatalogueProblemsAlwaysFail) {
  ScratchDir dir;
  const fs::path folder = write_release(dir.path(), kGoodRow, kGoodRow, kGoodRow);
  LoadOptions lenient;
  lenient.lenient = true;
  LoadReport report;
  // index.json disagrees with the info file
  write_text(folder / "index/Tiny.index.json",
             R"({"0": ["<a_1>", "<b_1>"], "1": ["<a_1>", "<b_9>"], "2": ["<a_2>", "<b_1>"]})");
  expect_error([&] { load_minionerec(folder.string(), lenient, &report); },
               {"Tiny.index.json: item 1 has semantic ID", "line 2 says"});
  write_text(folder / "index/Tiny.index.json", R"({"0": ["<a_1>", "<b_1>"]})");
  expect_error([&] { load_minionerec(folder.string()); }, {"Tiny.index.json: 1 items, but"});
  write_text(folder / "index/Tiny.index.json", R"({"0": ["<a_1>", "<b_1>"], )");
  expect_error([&] { load_minionerec(folder.string()); }, {"Tiny.index.json: not valid JSON"});
  // info lines out of order / malformed
  write_text(folder / "info/Tiny.txt", "<a_1><b_1>\tItem zero\t0\n<a_1><b_2>\tItem one\t2\n");
  expect_error([&] { load_minionerec(folder.string()); }, {"Tiny.txt:2: item id 2 out of order"});
  write_text(folder / "info/Tiny.txt", "<a_1><b_1>\tItem zero\n");
  expect_error([&] { load_minionerec(folder.string()); }, {"Tiny.txt:1: expected 3 tab-separated fields"});
  // missing pieces
  fs::remove(folder / "info/Tiny.txt");
  expect_error([&] { load_minionerec(folder.string()); }, {"no '*.txt' file in", "info"});
  expect_error([&] { load_minionerec((dir.path() / "Nope").string()); }, {"Nope", "is not a folder"});
}

TEST(MiniOneRec, HeaderMustNameTheColumns) {
  ScratchDir dir;
  const fs::path folder = write_release(dir.path(), kGoodRow, kGoodRow, kGoodRow);
  write_text(folder / "test/Tiny.csv", "user,history,target\nA1,[0],1\n");
  expect_error([&] { load_minionerec(folder.string()); }, {"test/Tiny.csv:1: the header lacks the column 'user_id'"});
}

// ---- Bad inputs: each fails early with a message naming the file, the line and the value (issue 13) ----

// `text` with every "\n" replaced by `line_end`.
std::string with_line_ends(const std::string& text, const std::string& line_end) {
  std::string out;
  for (char c : text) {
    if (c == '\n') {
      out += line_end;
    } else {
      out += c;
    }
  }
  return out;
}

// The same row as kGoodRow (history [0] -> item 1) for the user named `user`.
std::string row_of(const std::string& user) {
  return user + ",['Item zero'],Item one,[0],1,['<a_1><b_1>'],<a_1><b_2>\n";
}

TEST(MiniOneRec, UserIdsAreNamesNumberedInOrderOfFirstAppearance) {
  ScratchDir dir;
  // A user id of 2e9 once made num_users 2e9 + 1 (a 24 GB Caser user table); names need not be A<int>.
  const fs::path folder = write_release(dir.path(), row_of("A2000000000") + kGoodRow2, row_of("bob smith") + kGoodRow,
                                        row_of("A2000000000"));
  const SequenceDataset d = load_minionerec(folder.string());
  EXPECT_EQ(d.num_users, 4);  // A2000000000, A2, bob smith, A1
  EXPECT_EQ(d.train.users, (std::vector<UserId>{0, 1}));
  EXPECT_EQ(d.valid.users, (std::vector<UserId>{2, 3}));
  EXPECT_EQ(d.test.users, (std::vector<UserId>{0}));
  EXPECT_EQ(d.user_names, (std::vector<std::string>{"A2000000000", "A2", "bob smith", "A1"}));
  EXPECT_EQ(d.statistics().users, 4);
}

#ifdef __linux__
// Loads `folder` and counts its users with the address space capped at what is in use now plus 512 MiB,
// far below the gigabytes of a table sized by a user id of 2e9; then removes `root` (the child's own copy)
// and exits 0 when the load saw `users` users, 1 when it saw others, 2 when it threw (std::bad_alloc).
[[noreturn]] void load_under_a_memory_limit(const fs::path& root, const fs::path& folder, std::int32_t users) {
  std::size_t pages = 0;
  std::ifstream("/proc/self/statm") >> pages;
  const rlim_t limit = static_cast<rlim_t>(pages) * static_cast<rlim_t>(::sysconf(_SC_PAGESIZE)) + (rlim_t{512} << 20);
  const rlimit bound{limit, limit};
  ::setrlimit(RLIMIT_AS, &bound);
  int code = 2;
  try {
    const SequenceDataset d = load_minionerec(folder.string());
    const std::int64_t users_with_rows = d.statistics().users;  // a table per user id
    code = d.num_users == users && users_with_rows == users ? 0 : 1;
  } catch (const std::exception& error) {
    std::cerr << error.what() << "\n";
  }
  fs::remove_all(root);
  std::exit(code);
}
#endif

TEST(MiniOneRecDeathTest, AHugeUserIdLoadsUnderAMemoryLimit) {
#ifndef __linux__
  GTEST_SKIP() << "reads /proc/self/statm";
#else
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  ScratchDir dir;
  const fs::path folder = write_release(dir.path(), row_of("A2000000000") + kGoodRow2, kGoodRow, kGoodRow2);
  EXPECT_EXIT(load_under_a_memory_limit(dir.path(), folder, 3), ::testing::ExitedWithCode(0), "");
#endif
}

TEST(MiniOneRec, ByteOrderMarksAreSkipped) {
  ScratchDir dir;
  const fs::path folder = write_release(dir.path(), kGoodRow + kGoodRow2, kGoodRow, kGoodRow2);
  for (const char* file : {"info/Tiny.txt", "index/Tiny.index.json", "index/Tiny.item.json", "train/Tiny.csv",
                           "valid/Tiny.csv", "test/Tiny.csv"}) {
    write_text(folder / file, "\xEF\xBB\xBF" + read_file((folder / file).string()));
  }
  const SequenceDataset d = load_minionerec(folder.string());
  EXPECT_EQ(d.num_items, 3);
  EXPECT_EQ(d.item(1).semantic_id, (std::vector<std::string>{"<a_1>", "<b_1>"}));
  EXPECT_EQ(d.train.size(), 2u);
  EXPECT_EQ(d.num_users, 2);
}

TEST(Csv, EveryLineEndConventionEndsARow) {
  // \n, \r\n and a lone \r (old Mac) all end a line, also inside a quoted field (for the line count).
  const std::string text = "a,b\r1,\"x\ry\"\r\n2,3\n\"4\"\r5,6";
  CsvReader reader(text, "t.csv");
  CsvRow row;
  ASSERT_TRUE(reader.next(row));
  EXPECT_EQ(fields_of(row), (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(reader.next(row));
  EXPECT_EQ(fields_of(row), (std::vector<std::string>{"1", "x\ry"}));
  EXPECT_EQ(row.line, 2);
  ASSERT_TRUE(reader.next(row));
  EXPECT_EQ(fields_of(row), (std::vector<std::string>{"2", "3"}));
  EXPECT_EQ(row.line, 4);
  ASSERT_TRUE(reader.next(row));
  EXPECT_EQ(fields_of(row), (std::vector<std::string>{"4"}));
  EXPECT_EQ(row.line, 5);
  ASSERT_TRUE(reader.next(row));
  EXPECT_EQ(fields_of(row), (std::vector<std::string>{"5", "6"}));
  EXPECT_EQ(row.line, 6);
  EXPECT_FALSE(reader.next(row));
}

TEST(TextLines, EveryLineEndConventionEndsALine) {
  std::vector<std::pair<std::int64_t, std::string>> lines;
  for_each_line("a\rb\r\nc\n\rd",
                [&](std::int64_t line, std::string_view content) { lines.emplace_back(line, std::string(content)); });
  EXPECT_EQ(lines,
            (std::vector<std::pair<std::int64_t, std::string>>{{1, "a"}, {2, "b"}, {3, "c"}, {4, ""}, {5, "d"}}));
}

TEST(MiniOneRec, OldMacAndWindowsLineEndsLoadLikeUnixOnes) {
  ScratchDir dir;
  const SequenceDataset unix_dataset =
      load_minionerec(write_release(dir.path() / "unix", kGoodRow + kGoodRow2, kGoodRow, kGoodRow2).string());
  for (const std::string line_end : {"\r", "\r\n"}) {
    SCOPED_TRACE(line_end == "\r" ? "CR" : "CRLF");
    const fs::path folder =
        write_release(dir.path() / std::to_string(line_end.size()), kGoodRow + kGoodRow2, kGoodRow, kGoodRow2);
    for (const char* file : {"info/Tiny.txt", "train/Tiny.csv", "valid/Tiny.csv", "test/Tiny.csv"}) {
      write_text(folder / file, with_line_ends(read_file((folder / file).string()), line_end));
    }
    const SequenceDataset d = load_minionerec(folder.string());
    EXPECT_EQ(d.train.size(), 2u);
    EXPECT_EQ(d.fingerprint(), unix_dataset.fingerprint());
    EXPECT_EQ(d.item(2).title, "Item one");
  }
}

TEST(MiniOneRec, AnEmptySplitIsAnErrorNamingTheFile) {
  for (const char* split : {"train", "valid", "test"}) {
    SCOPED_TRACE(split);
    ScratchDir dir;
    const std::string s = split;
    const fs::path folder = write_release(dir.path(), s == "train" ? "" : kGoodRow, s == "valid" ? "" : kGoodRow,
                                          s == "test" ? "" : kGoodRow);
    const std::string file = (folder / split / "Tiny.csv").string();
    expect_error([&] { load_minionerec(folder.string()); }, {file + ": the " + s + " split has no rows"});
    write_text(file, "");  // not even a header
    expect_error([&] { load_minionerec(folder.string()); }, {file + ": the file is empty"});
  }
  // Lenient: every row of the valid split is malformed, so none is left.
  ScratchDir dir;
  const fs::path folder = write_release(dir.path(), kGoodRow, "A3,[],x,[],1,[],<a_1><b_2>\n", kGoodRow);
  LoadOptions lenient;
  lenient.lenient = true;
  LoadReport report;
  expect_error([&] { load_minionerec(folder.string(), lenient, &report); },
               {(folder / "valid/Tiny.csv").string() + ": the valid split has no rows", "1 row skipped"});
}

TEST(MiniOneRec, ACatalogueOfOneItemIsAnError) {
  ScratchDir dir;
  const fs::path folder = write_release(dir.path(), kGoodRow, kGoodRow, kGoodRow);
  write_text(folder / "info/Tiny.txt", "<a_1><b_1>\tItem zero\t0\n");
  write_text(folder / "index/Tiny.index.json", R"({"0": ["<a_1>", "<b_1>"]})");
  write_text(folder / "index/Tiny.item.json", R"({"0": {"title": "Item zero"}})");
  const std::string row = "A1,['Item zero'],Item zero,[0],0,['<a_1><b_1>'],<a_1><b_1>\n";
  for (const char* split : {"train", "valid", "test"}) write_text(folder / split / "Tiny.csv", kHeader + row);
  expect_error([&] { load_minionerec(folder.string()); }, {"Tiny.txt", "1 item", "at least 2"});
}

TEST(SequenceDataset, ValidateRefusesEmptySplitsAndTinyCatalogues) {
  SequenceDataset d = tiny_dataset();  // its test split is empty
  expect_error([&] { d.validate(); }, {"SequenceDataset 'tiny'", "the test split has no rows"});
  d.test.add_row(1, std::vector<ItemId>{1}, 2);
  d.validate();
  SequenceDataset one = d;
  one.num_items = 1;
  one.items.resize(2);
  for (Split* s : {&one.train, &one.valid, &one.test}) {
    for (ItemId& item : s->history_items) item = 1;
    for (ItemId& item : s->targets) item = 1;
  }
  expect_error([&] { one.validate(); }, {"num_items 1", "at least 2 items"});
  SequenceDataset none = d;
  none.train = none.valid = none.test = Split{};
  expect_error([&] { none.validate(); }, {"the train split has no rows"});
}

TEST(Csv, AnUnbalancedQuoteNamesTheLineItOpenedOnAndReadingResumes) {
  const std::string text = "a,b\n1,2\n\"x\ny\",\"oops\n4,5\n";
  CsvReader reader(text, "q.csv");
  CsvRow row;
  ASSERT_TRUE(reader.next(row));
  ASSERT_TRUE(reader.next(row));
  ASSERT_TRUE(reader.next(row));  // starts on line 3; its second quote opens on line 4 and never closes
  EXPECT_FALSE(row.ok());
  EXPECT_EQ(row.line, 3);
  EXPECT_FALSE(row.truncated);  // lines follow: an unbalanced quote, not the end of the file
  EXPECT_NE(row.error.find("q.csv:4: a quoted field opened here is never closed (an unbalanced \" in the data, or "
                           "a truncated file)"),
            std::string::npos)
      << row.error;
  ASSERT_TRUE(reader.next(row));  // reading resumes on the line after the one the quote opened on
  EXPECT_TRUE(row.ok()) << row.error;
  EXPECT_EQ(fields_of(row), (std::vector<std::string>{"4", "5"}));
  EXPECT_EQ(row.line, 5);
  EXPECT_FALSE(reader.next(row));

  CsvReader cut("a,b\n1,\"never clo", "cut.csv");  // the text ends inside the quote: truncated
  ASSERT_TRUE(cut.next(row));
  ASSERT_TRUE(cut.next(row));
  EXPECT_TRUE(row.truncated);
  EXPECT_NE(row.error.find("cut.csv:2: a quoted field opened here is never closed"), std::string::npos) << row.error;
  EXPECT_FALSE(cut.next(row));
}

TEST(MiniOneRec, LenientSkipsOnlyTheLineOfAnUnbalancedQuote) {
  ScratchDir dir;
  const std::string bad = "A3,\"['Item zero'],Item one,[0],1,['<a_1><b_1>'],<a_1><b_2>\n";
  const std::string train_file = (dir.path() / "a/Tiny/train/Tiny.csv").string();
  // No quote after it: the quote is never closed.
  fs::path folder = write_release(dir.path() / "a", kGoodRow + bad + kGoodRow + kGoodRow, kGoodRow, kGoodRow);
  expect_error([&] { load_minionerec(folder.string()); },
               {train_file + ":3: a quoted field opened here is never closed"});
  LoadOptions lenient;
  lenient.lenient = true;
  LoadReport report;
  SequenceDataset d = load_minionerec(folder.string(), lenient, &report);
  EXPECT_EQ(report.skipped_total(), 1) << report.to_string();
  EXPECT_EQ(report.skipped_for(SkipReason::MalformedCsv), 1) << report.to_string();
  EXPECT_EQ(d.train.size(), 3u);  // the rows after the bad line are kept
  // A quoted row after it: its first quote closes the field opened on line 3, and the text after that
  // quote gives the fault away.
  folder = write_release(dir.path() / "b", kGoodRow + bad + kGoodRow2 + kGoodRow, kGoodRow, kGoodRow);
  expect_error([&] { load_minionerec(folder.string()); },
               {":4: unexpected character '[' after a closing quote (the quoted field opened on line 3: an "
                "unbalanced \" there?)"});
  d = load_minionerec(folder.string(), lenient, &report);
  EXPECT_EQ(report.skipped_total(), 1) << report.to_string();
  EXPECT_EQ(d.train.size(), 3u);  // reading resumed on line 4
}

TEST(MiniOneRec, NeighbouringFaultsGetClearErrors) {
  ScratchDir dir;
  const fs::path folder = write_release(dir.path(), kGoodRow, kGoodRow, kGoodRow);
  const auto load = [&] { load_minionerec(folder.string()); };
  const fs::path index = folder / "index/Tiny.index.json";
  const std::string good_index = read_file(index.string());
  // A JSON key that names an item twice ("01" and "1"), hiding another item's absence.
  write_text(index, R"({"0": ["<a_1>", "<b_1>"], "1": ["<a_1>", "<b_2>"], "01": ["<a_1>", "<b_2>"]})");
  expect_error(load, {"Tiny.index.json", "\"01\"", "item 1", "\"1\""});
  // A repeated key: JSON keeps one of them, so the count is short; the message names the missing item.
  write_text(index, R"({"0": ["<a_1>", "<b_1>"], "1": ["<a_1>", "<b_2>"], "1": ["<a_1>", "<b_2>"]})");
  expect_error(load, {"Tiny.index.json", "item 2 is missing"});
  write_text(index, good_index);
  // A repeated line of the info file.
  const fs::path info = folder / "info/Tiny.txt";
  const std::string good_info = read_file(info.string());
  write_text(info, "<a_1><b_1>\tItem zero\t0\n<a_1><b_2>\tItem one\t1\n<a_1><b_2>\tItem one\t1\n");
  expect_error(load, {"Tiny.txt:3: item id 1 repeats line 2"});
  // Bytes that are not UTF-8 (a Latin-1 e-acute) in the catalogue and in a split.
  write_text(info, "<a_1><b_1>\tItem zero\t0\n<a_1><b_2>\tCaf\xE9\t1\n<a_2><b_1>\tItem two\t2\n");
  expect_error(load, {"Tiny.txt:2:", "0xE9", "not valid UTF-8"});
  write_text(info, good_info);
  const fs::path train = folder / "train/Tiny.csv";
  write_text(train, kHeader + kGoodRow + "A3,['Caf\xE9'],Item one,[0],1,['<a_1><b_1>'],<a_1><b_2>\n" + kGoodRow2);
  expect_error(load, {train.string() + ":3:", "0xE9", "not valid UTF-8"});
  LoadOptions lenient;
  lenient.lenient = true;
  LoadReport report;
  EXPECT_EQ(load_minionerec(folder.string(), lenient, &report).train.size(), 2u);
  EXPECT_EQ(report.skipped_total(), 1);
  // A UTF-16 file (as some editors save "Unicode" text).
  write_text(train, std::string("\xFF\xFEu\0s\0", 6));
  expect_error(load, {train.string(), "UTF-16"});
  // A header that names a column twice.
  write_text(train, "user_id,history_item_id,item_id,user_id\nA1,[0],1,A2\n");
  expect_error(load, {train.string() + ":1: the header names the column 'user_id' twice"});
  // The split file is a folder; a split folder is missing.
  fs::remove(train);
  fs::create_directories(train);
  expect_error(load, {train.string(), "not a regular file"});
  fs::remove_all(folder / "train");
  expect_error(load, {"missing folder", "train"});
}

TEST(Csv, ReadFileRefusesAFolder) {
  ScratchDir dir;
  expect_error([&] { read_file(dir.path().string()); }, {dir.path().string(), "is a folder, not a file"});
}

}  // namespace
}  // namespace recgrad::datasets
