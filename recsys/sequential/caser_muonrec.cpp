#include "recsys/sequential/caser_muonrec.h"

#include <sstream>

#include "autograd/ops.h"
#include "core/factory.h"
#include "nn/init.h"
#include "recsys/history_alignment.h"
#include "recsys/item_ids.h"

namespace recgrad::recsys {

CaserMuonRec::CaserMuonRec(std::int64_t num_items, CaserMuonRecOptions options) : options(options) {
  RG_CHECK(num_items > 0 && options.hidden > 0 && options.filters > 0 && options.max_length >= 4,
           "Caser-MuonRec: needs positive num_items, hidden and filters and max_length >= 4 (the tallest filter); got ",
           num_items, " items, hidden ", options.hidden, ", filters ", options.filters, ", max_length ",
           options.max_length);
  this->num_items = num_items;
  const std::int64_t d = options.hidden;
  // torch's construction order: embedding and its init, the horizontal filters (each initialised as it is
  // built), the vertical filter, then the output layer
  item_embedding = register_module("item_embedding", std::make_shared<nn::Embedding>(num_items + 1, d, 0));
  nn::init::normal_(item_embedding->weight, 0.0, options.init_std);
  horizontal = register_module("horizontal", std::make_shared<nn::ModuleList>());
  for (std::int64_t h : kHeights) {
    auto conv = std::make_shared<nn::Conv2d>(1, options.filters, std::array<std::int64_t, 2>{h, d});
    nn::init::xavier_normal_(conv->weight);
    nn::init::constant_(conv->bias, 0.1);
    horizontal->push_back(conv);
  }
  vertical = register_module("vertical",
                             std::make_shared<nn::Conv2d>(1, 1, std::array<std::int64_t, 2>{options.max_length, 1}));
  nn::init::xavier_normal_(vertical->weight);
  nn::init::constant_(vertical->bias, 0.1);
  s_fc = register_module("s_fc", std::make_shared<nn::Linear>(3 * options.filters + d, num_items));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(options.dropout));
  declared_roles_ = {{"item_embedding.weight", ParameterRole::embedding}, {"s_fc.weight", ParameterRole::output_head}};
  // the convolutions read the item-embedding matrix directly: Caser's first layer
  for (const auto& [name, parameter] : named_parameters()) {
    if (name.starts_with("horizontal.") || name.starts_with("vertical.")) {
      declared_roles_.emplace_back(name, parameter.dim() >= 2 ? ParameterRole::input_layer : ParameterRole::bias);
    }
  }
}

Tensor CaserMuonRec::encode(const SequenceBatch& batch) const {
  RG_CHECK(batch.history.dim() == 2 && batch.history.size(1) == options.max_length,
           "Caser-MuonRec: history must be [B, L] with L = max_length = ", options.max_length, ", got ",
           batch.history.shape());
  const std::int64_t b = batch.history.size(0);
  const Tensor aligned = align_to_start(batch.history).items;  // [B, L], padding at the end
  const Tensor real = unsqueeze(recgrad::to_dtype(ne(aligned, 0.0), item_embedding->weight.dtype()), 2);  // [B, L, 1]
  const Tensor x = unsqueeze(mul(item_embedding->forward(aligned), real), 1);  // [B, 1, L, d], padding rows 0
  std::vector<Tensor> pooled;
  for (std::size_t k = 0; k < std::size(kHeights); ++k) {
    const Tensor h = relu(squeeze(horizontal->at<nn::Conv2d>(k)->forward(x), 3));  // [B, filters, L - h + 1]
    pooled.push_back(max(h, 2));                                                   // [B, filters]
  }
  const Tensor v = reshape(relu(vertical->forward(x)), {b, options.hidden});  // [B, 1, 1, d] -> [B, d]
  return dropout->forward(cat({cat(pooled, 1), v}, 1));
}

Tensor CaserMuonRec::score_all(const SequenceBatch& batch) const { return s_fc->forward(encode(batch)); }

Tensor CaserMuonRec::score_items(const SequenceBatch& batch, const Tensor& items) const {
  return score_items_with_head(encode(batch), s_fc->weight, s_fc->bias, items);
}

std::vector<OptionField<CaserMuonRecOptions>> CaserMuonRec::option_fields() {
  return {{"hidden", "width of the item embeddings", &CaserMuonRecOptions::hidden},
          {"filters", "horizontal filters per height (heights 2, 3, 4)", &CaserMuonRecOptions::filters},
          {"dropout", "dropout on the concatenated features", &CaserMuonRecOptions::dropout},
          {"max_length", "history window L (the vertical filter's height)", &CaserMuonRecOptions::max_length},
          {"init_std", "standard deviation of the N(0, std) item-embedding initialisation",
           &CaserMuonRecOptions::init_std}};
}

std::string CaserMuonRec::describe() const {
  std::ostringstream out;
  out << "Caser-MuonRec(items " << num_items << ", hidden " << options.hidden << ", filters " << options.filters
      << " x {2,3,4}, vertical 1, dropout " << options.dropout << ", max_length " << options.max_length << ", init_std "
      << options.init_std << ")";
  return out.str();
}

}  // namespace recgrad::recsys
