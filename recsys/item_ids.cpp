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

Tensor score_items_with_head(const Tensor& u, const Tensor& weight, const Tensor& bias, const Tensor& items) {
  RG_CHECK(items.dim() == 2 && u.dim() == 2 && items.size(0) == u.size(0) && weight.dim() == 2 &&
               weight.size(1) == u.size(1),
           "score_items_with_head: expected u [B, d], weight [items, d] and items [B, K], got ", u.shape(), ", ",
           weight.shape(), " and ", items.shape());
  const Tensor columns = score_column(items);                                           // output row per item
  const Tensor w = embedding(weight, columns);                                          // [B, K, d]
  const Tensor scores = squeeze(matmul(w, unsqueeze(u, 2)), 2);                         // [B, K]
  const Tensor b = squeeze(embedding(reshape(bias, {weight.size(0), 1}), columns), 2);  // [B, K]
  return add(scores, b);
}

}  // namespace recgrad::recsys
