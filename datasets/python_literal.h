// Parsers for the Python-literal lists that the MiniOneRec CSVs hold (what str(list) prints and
// ast.literal_eval reads back):
//   ints:    "[3437, 642, 642]"   "[]"   "[1, 2,]"
//   strings: "['Dap 08648 Sealant', \"Kid's toy\", 'caf\xc3\xa9 \\u00e9 \\n']"
// Strings may use single or double quotes and Python's escapes (\\ \' \" \n \t \r \0 \xhh \uhhhh
// \Uhhhhhhhh, the last three written as UTF-8). Whitespace between tokens is ignored. Anything else
// (a missing bracket, a bare word, a float where an int belongs) throws recgrad::Error saying what
// was expected and at which character; callers add the file and line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace recgrad::datasets {

/// Parses "[i0, i1, ...]" (decimal integers, optional sign) into `out` (cleared first, capacity kept).
void parse_python_int_list(std::string_view text, std::vector<std::int64_t>& out);

/// Same, returning a new vector.
std::vector<std::int64_t> parse_python_int_list(std::string_view text);

/// Parses "['a', \"b's\", ...]" into `out` (cleared first).
void parse_python_string_list(std::string_view text, std::vector<std::string>& out);

/// Same, returning a new vector.
std::vector<std::string> parse_python_string_list(std::string_view text);

/// Parses one quoted Python string literal ('...' or "...") with escapes.
std::string parse_python_string(std::string_view text);

}  // namespace recgrad::datasets
