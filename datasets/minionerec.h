// load_minionerec: reads a dataset folder in the format of the MiniOneRec release
// (github.com/AkaliKong/MiniOneRec, data/Amazon/; see ../shared/data/amazon/SOURCE.md):
//
//   <folder>/info/<name>.txt          one line per item: "<semantic ID>\t<title>\t<item id>", line i <-> id i
//   <folder>/index/<name>.index.json  {"<item id>": ["<a_x>", "<b_y>", "<c_z>"]}  (semantic-ID tokens)
//   <folder>/index/<name>.item.json   {"<item id>": {"title", "description", "brand", "categories"}}
//   <folder>/{train,valid,test}/<name>.csv
//       user_id,history_item_title,item_title,history_item_id,item_id,history_item_sid,item_sid
//       A5382,"['title a', 'title b']",title c,"[3437, 642]",2520,"['<a_..>', '<a_..>']",<a_42><b_133><c_2>
//
// The dataset is named by the folder ("Industrial_and_Scientific"); every category of the release
// (Industrial_and_Scientific, Office_Products) loads the same way, and the release's time-based split
// is kept as it is. Item ids of the files (0..n-1) become 1..n in the dataset (0 is padding; the
// file's id is kept as ItemInfo::external_id). A user_id is a name, any non-empty text (the release's
// are "A<k>"), never a size: users are numbered 0..U-1 in order of first appearance over the rows kept
// in train, then valid, then test; num_users = U, and SequenceDataset::user_names keeps the names.
// The dataset's max_history_length is options.max_history_length when set (longer histories keep
// their most recent items), else the longest history in the files (10 in the release).
//
// Text: every file is UTF-8 (a leading byte-order mark is skipped; a UTF-16 or UTF-32 file is an error,
// and so are bytes that are not UTF-8, named by file:line: in the info file always, in a CSV row as a bad
// row, below); lines end at \n, \r\n or a lone \r (old Mac files), in the CSVs and the info file alike.
// Blank lines are ignored.
//
// Checks: the three catalogue files agree (item count, ids, each named once, semantic IDs), the
// catalogue holds at least 2 items, and every split file has a header naming user_id,
// history_item_id and item_id (each once) and at least one row: these are always errors, lenient or
// not ("<file>: the valid split has no rows"). In the CSVs, per row: the column count matches the
// header; every field is UTF-8; user_id is not empty; history_item_id is a Python list of known item
// ids, not empty; item_id is a known item; item_sid, when present, is that item's semantic ID. Titles
// and the history SIDs repeat the catalogue and are not parsed. A bad row throws
// "<file>:<line>: <what>", or with options.lenient is skipped and counted in `report`.
#pragma once

#include <string>

#include "datasets/load_options.h"
#include "datasets/sequence_dataset.h"

namespace recgrad::datasets {

/// Loads the MiniOneRec-format folder `folder` (see above). `report` (required when lenient) receives
/// the number of rows read and skipped by reason.
SequenceDataset load_minionerec(const std::string& folder, const LoadOptions& options = {},
                                LoadReport* report = nullptr);

}  // namespace recgrad::datasets
