#include "recsys/item_ids.h"

#include "autograd/ops.h"
#include "core/factory.h"

namespace recgrad::recsys {

Tensor score_column(const Tensor& item_ids) {
  return sub(item_ids, scalar_tensor(1.0, {item_ids.dtype(), item_ids.device()}));
}

Tensor item_rows(const Tensor& table) { return narrow(table, 0, 1, table.size(0) - 1); }

Tensor score_against_all_items(const Tensor& u, const Tensor& table) {
  RG_CHECK(u.dim() == 2 && table.dim() == 2 && u.size(1) == table.size(1),
           "score_against_all_items: expected u [B, d] and table [items + 1, d], got ", u.shape(), " and ",
           table.shape());
  return matmul(u, transpose(item_rows(table), 0, 1));
}

Tensor score_against_items(const Tensor& u, const Tensor& table, const Tensor& items) {
  RG_CHECK(items.dim() == 2 && u.dim() == 2 && items.size(0) == u.size(0),
           "score_against_items: expected items [B, K] for u [B, d], got ", items.shape(), " and ", u.shape());
  const Tensor vectors = embedding(table, items);  // [B, K, d]: row = id
  return squeeze(matmul(vectors, unsqueeze(u, 2)), 2);
}

}  // namespace recgrad::recsys
