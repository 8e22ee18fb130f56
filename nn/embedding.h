// Embedding: a lookup table of learned vectors (torch.nn.Embedding).
#pragma once

#include "nn/module.h"

namespace recgrad::nn {

/// weight [num_embeddings, embedding_dim], initialised N(0, 1) from the
/// default generator, as in PyTorch. With padding_idx >= 0 that row starts at
/// zero and never receives a gradient (item 0 is padding in recsys data);
/// padding_idx = -1 means no padding row.
class Embedding : public Module {
 public:
  Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim, std::int64_t padding_idx = -1);

  /// indices (any shape, i64 or i32) -> [..., embedding_dim]: out[i] = weight[indices[i]].
  /// Gradient: dweight[r] = sum of dout[i] over the i with indices[i] = r (none for padding_idx).
  Tensor forward(const Tensor& indices) const;
  Tensor operator()(const Tensor& indices) const { return forward(indices); }

  std::int64_t num_embeddings;
  std::int64_t embedding_dim;
  std::int64_t padding_idx;
  Tensor weight;
};

}  // namespace recgrad::nn
