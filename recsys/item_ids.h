// The one item-id space of recgrad, and the one place where ids meet zero-based positions.
//
// Item ids are 1..num_items everywhere (loaders, batches, models, negatives, metrics); 0 is the padding id.
// An item table has num_items + 1 rows and row i is item i, so embedding lookups take ids as they are. A
// model's score matrix has one column per real item, [B, num_items], column c holding item c + 1: the only
// +1/-1 in the project is score_column() below.
#pragma once

#include "core/tensor.h"

namespace recgrad::recsys {

/// The score-matrix column of each item id (i64 tensor of ids in 1..num_items): column = id - 1.
Tensor score_column(const Tensor& item_ids);

/// The rows of the real items of an item table [num_items + 1, d], in score-column order: table[1:].
Tensor item_rows(const Tensor& table);

/// u [B, d], table [num_items + 1, d] -> [B, num_items]: scores[b, c] = <u_b, table[c + 1]> (tied output layer).
Tensor score_against_all_items(const Tensor& u, const Tensor& table);

/// u [B, d], table [num_items + 1, d], items [B, K] (ids) -> [B, K]: <u_b, table[items[b, k]]>.
Tensor score_against_items(const Tensor& u, const Tensor& table, const Tensor& items);

/// u [B, d] and a separate output layer (weight [num_items, d], bias [num_items]; row c is item c + 1), items
/// [B, K] (ids) -> [B, K]: <u_b, weight[column]> + bias[column], the entries of the layer's full output.
Tensor score_items_with_head(const Tensor& u, const Tensor& weight, const Tensor& bias, const Tensor& items);

}  // namespace recgrad::recsys
