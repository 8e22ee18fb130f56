// Scoring user representations against an item embedding table whose row 0 is padding (row j + 1 holds
// item j): the output layer shared by the models with tied item embeddings.
#pragma once

#include "core/tensor.h"

namespace recgrad::recsys {

/// u [B, d], table [num_items + 1, d] -> [B, num_items]: scores[b, j] = <u_b, table[j + 1]>.
Tensor score_against_all_items(const Tensor& u, const Tensor& table);
/// u [B, d], table [num_items + 1, d], items [B, K] (ids in [0, num_items)) -> [B, K]: <u_b, table[items[b, k] + 1]>.
Tensor score_against_items(const Tensor& u, const Tensor& table, const Tensor& items);

}  // namespace recgrad::recsys
