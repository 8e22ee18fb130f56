#include "recsys/sequential/gru4rec_muonrec.h"

#include <sstream>

#include "autograd/ops.h"
#include "nn/init.h"
#include "recsys/item_ids.h"

namespace recgrad::recsys {

GRU4RecMuonRec::GRU4RecMuonRec(std::int64_t num_items, GRU4RecMuonRecOptions options) : options(options) {
  RG_CHECK(num_items > 0 && options.hidden > 0 && options.max_length > 0,
           "GRU4Rec-MuonRec: needs positive num_items, hidden and max_length; got ", num_items, ", ", options.hidden,
           ", ", options.max_length);
  this->num_items = num_items;
  // torch's construction order: embedding, then its N(0, 0.01) init, then the GRU, then the output layer
  item_embedding = register_module("item_embedding", std::make_shared<nn::Embedding>(num_items + 1, options.hidden, 0));
  nn::init::normal_(item_embedding->weight, 0.0, options.init_std);
  nn::GRUOptions gru_options;
  gru_options.batch_first = true;
  gru = register_module("gru", std::make_shared<nn::GRU>(options.hidden, options.hidden, gru_options));
  s_fc = register_module("s_fc", std::make_shared<nn::Linear>(options.hidden, num_items));
  declared_roles_ = {{"item_embedding.weight", ParameterRole::embedding}, {"s_fc.weight", ParameterRole::output_head}};
}

Tensor GRU4RecMuonRec::encode(const SequenceBatch& batch) const {
  const Tensor& history = batch.history;
  RG_CHECK(history.dim() == 2 && history.size(1) > 0, "GRU4Rec-MuonRec: history must be [B, L] with L > 0, got ",
           history.shape());
  const nn::GRUOutput out = gru->forward(item_embedding->forward(history), Tensor(), ne(history, 0.0));
  return select(out.h_n, 0, 0);
}

Tensor GRU4RecMuonRec::score_all(const SequenceBatch& batch) const { return s_fc->forward(encode(batch)); }

Tensor GRU4RecMuonRec::score_items(const SequenceBatch& batch, const Tensor& items) const {
  return score_items_with_head(encode(batch), s_fc->weight, s_fc->bias, items);
}

std::vector<OptionField<GRU4RecMuonRecOptions>> GRU4RecMuonRec::option_fields() {
  return {{"hidden", "width of the item embeddings and of the GRU state", &GRU4RecMuonRecOptions::hidden},
          {"max_length", "history window L (the most recent items read)", &GRU4RecMuonRecOptions::max_length},
          {"init_std", "standard deviation of the N(0, std) item-embedding initialisation",
           &GRU4RecMuonRecOptions::init_std}};
}

std::string GRU4RecMuonRec::describe() const {
  std::ostringstream out;
  out << "GRU4Rec-MuonRec(items " << num_items << ", hidden " << options.hidden << ", max_length " << options.max_length
      << ", init_std " << options.init_std << ")";
  return out.str();
}

}  // namespace recgrad::recsys
