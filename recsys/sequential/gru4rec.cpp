#include "recsys/sequential/gru4rec.h"

#include <sstream>

#include "autograd/ops.h"
#include "core/ops/compare.h"
#include "nn/init.h"
#include "recsys/item_ids.h"

namespace recgrad::recsys {

GRU4Rec::GRU4Rec(std::int64_t num_items, GRU4RecOptions options) : options(options) {
  RG_CHECK(num_items > 0 && options.embedding > 0 && options.hidden > 0 && options.layers > 0 && options.max_length > 0,
           "GRU4Rec: needs positive num_items, embedding, hidden, layers and max_length; got ", num_items, ", ",
           options.embedding, ", ", options.hidden, ", ", options.layers, ", ", options.max_length);
  this->num_items = num_items;
  item_embedding =
      register_module("item_embedding", std::make_shared<nn::Embedding>(num_items + 1, options.embedding, 0));
  embedding_dropout = register_module("embedding_dropout", std::make_shared<nn::Dropout>(options.dropout));
  nn::GRUOptions gru_options;
  gru_options.num_layers = options.layers;
  gru_options.batch_first = true;
  gru_options.bias = false;  // RecBole's GRU4Rec: nn.GRU(..., bias=False)
  gru = register_module("gru", std::make_shared<nn::GRU>(options.embedding, options.hidden, gru_options));
  dense = register_module("dense", std::make_shared<nn::Linear>(options.hidden, options.embedding));
  // RecBole: xavier_normal_ for the embedding, xavier_uniform_ for the GRU weights; the padding row 0.
  nn::init::xavier_uniform_(item_embedding->weight);
  for (const auto& [name, parameter] : gru->named_parameters()) {
    if (parameter.dim() >= 2) nn::init::xavier_uniform_(parameter);
  }
  nn::init::zeros_(narrow(item_embedding->weight.detach(), 0, 0, 1));
  declared_roles_ = {{"item_embedding.weight", ParameterRole::embedding}};
}

Tensor GRU4Rec::encode(const SequenceBatch& batch) const {
  const Tensor& history = batch.history;
  RG_CHECK(history.dim() == 2 && history.size(1) > 0, "GRU4Rec: history must be [B, L] with L > 0, got ",
           history.shape());
  const Tensor x = embedding_dropout->forward(item_embedding->forward(history));
  const nn::GRUOutput out = gru->forward(x, Tensor(), raw::ne(history, 0.0));  // mask: true = a real item
  return dense->forward(select(out.h_n, 0, options.layers - 1));
}

Tensor GRU4Rec::score_all(const SequenceBatch& batch) const {
  return score_against_all_items(encode(batch), item_embedding->weight);
}

Tensor GRU4Rec::score_items(const SequenceBatch& batch, const Tensor& items) const {
  return score_against_items(encode(batch), item_embedding->weight, items);
}

std::vector<OptionField<GRU4RecOptions>> GRU4Rec::option_fields() {
  return {{"embedding", "width of the item embeddings and of the user representation", &GRU4RecOptions::embedding},
          {"hidden", "GRU state width", &GRU4RecOptions::hidden},
          {"layers", "stacked GRU layers", &GRU4RecOptions::layers},
          {"dropout", "dropout of the item embeddings", &GRU4RecOptions::dropout},
          {"max_length", "history window L (the most recent items read)", &GRU4RecOptions::max_length}};
}

std::string GRU4Rec::describe() const {
  std::ostringstream out;
  out << "GRU4Rec(items " << num_items << ", embedding " << options.embedding << ", hidden " << options.hidden
      << ", layers " << options.layers << ", dropout " << options.dropout << ", max_length " << options.max_length
      << ")";
  return out.str();
}

}  // namespace recgrad::recsys
