#include "nn/embedding.h"

#include "autograd/grad_mode.h"
#include "autograd/ops/index.h"
#include "core/factory.h"
#include "core/ops/copy.h"
#include "core/ops/view.h"
#include "nn/init.h"

namespace recgrad::nn {

Embedding::Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim, std::int64_t padding_idx)
    : num_embeddings(num_embeddings), embedding_dim(embedding_dim), padding_idx(padding_idx) {
  RG_CHECK(num_embeddings > 0 && embedding_dim > 0,
           "Embedding: num_embeddings and embedding_dim must be positive, got ", num_embeddings, " and ",
           embedding_dim);
  RG_CHECK(padding_idx == -1 || (padding_idx >= 0 && padding_idx < num_embeddings), "Embedding: padding_idx ",
           padding_idx, " must be -1 (none) or in [0, ", num_embeddings, ")");
  weight = register_parameter("weight", empty({num_embeddings, embedding_dim}));
  init::normal_(weight);
  if (padding_idx >= 0) {
    NoGradGuard no_grad;
    raw::fill_(raw::select(weight, 0, padding_idx), 0.0);
  }
}

Tensor Embedding::forward(const Tensor& indices) const { return recgrad::embedding(weight, indices, padding_idx); }

}  // namespace recgrad::nn
