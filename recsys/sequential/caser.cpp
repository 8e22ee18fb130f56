#include "recsys/sequential/caser.h"

#include <sstream>

#include "autograd/ops.h"
#include "core/factory.h"
#include "nn/init.h"
#include "recsys/item_ids.h"

namespace recgrad::recsys {

Caser::Caser(std::int64_t num_items, std::int64_t num_users, CaserOptions options)
    : options(options), num_users(num_users) {
  RG_CHECK(num_items > 0 && num_users > 0 && options.embedding > 0 && options.max_length > 0 &&
               options.horizontal_filters > 0 && options.vertical_filters > 0,
           "Caser: needs positive num_items, num_users, embedding, max_length and filter counts; got ", num_items,
           " items, ", num_users, " users");
  this->num_items = num_items;
  const std::int64_t d = options.embedding, length = options.max_length;
  item_embedding = register_module("item_embedding", std::make_shared<nn::Embedding>(num_items + 1, d, 0));
  user_embedding = register_module("user_embedding", std::make_shared<nn::Embedding>(num_users, d));
  conv_v = register_module(
      "conv_v", std::make_shared<nn::Conv2d>(1, options.vertical_filters, std::array<std::int64_t, 2>{length, 1}));
  conv_h = register_module("conv_h", std::make_shared<nn::ModuleList>());
  for (std::int64_t h = 1; h <= length; ++h) {
    conv_h->push_back(std::make_shared<nn::Conv2d>(1, options.horizontal_filters, std::array<std::int64_t, 2>{h, d}));
  }
  fc1 = register_module(
      "fc1", std::make_shared<nn::Linear>(options.vertical_filters * d + options.horizontal_filters * length, d));
  fc2 = register_module("fc2", std::make_shared<nn::Linear>(2 * d, num_items));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(options.dropout));
  // RecBole: embeddings N(0, 1 / embedding_size), Linear weights xavier-normal-like, biases 0.
  nn::init::normal_(item_embedding->weight, 0.0, 1.0 / static_cast<double>(d));
  nn::init::normal_(user_embedding->weight, 0.0, 1.0 / static_cast<double>(d));
  nn::init::zeros_(narrow(item_embedding->weight.detach(), 0, 0, 1));
  for (const auto& fc : {fc1, fc2}) {
    nn::init::xavier_uniform_(fc->weight);
    nn::init::zeros_(fc->bias);
  }
  declared_roles_ = {{"item_embedding.weight", ParameterRole::embedding},
                     {"user_embedding.weight", ParameterRole::embedding},
                     {"fc2.weight", ParameterRole::output_head},
                     {"fc2.bias", ParameterRole::bias}};
  // the convolutions read the item-embedding matrix directly: Caser's first layer
  for (const auto& [name, parameter] : named_parameters()) {
    if (name.starts_with("conv_v.") || name.starts_with("conv_h.")) {
      declared_roles_.emplace_back(name, parameter.dim() >= 2 ? ParameterRole::input_layer : ParameterRole::bias);
    }
  }
}

Tensor Caser::encode(const SequenceBatch& batch) const {
  const Tensor& history = batch.history;
  RG_CHECK(history.dim() == 2 && history.size(1) == options.max_length,
           "Caser: history must be [B, L] with L = max_length = ", options.max_length, ", got ", history.shape());
  RG_CHECK(batch.users.defined() && batch.users.dim() == 1 && batch.users.size(0) == history.size(0),
           "Caser: needs users [B] beside history ", history.shape());
  const std::int64_t b = history.size(0), length = options.max_length;
  const Tensor x = unsqueeze(item_embedding->forward(history), 1);  // [B, 1, L, d]
  // vertical: [B, n_v, 1, d] -> [B, n_v * d]
  const Tensor vertical = reshape(conv_v->forward(x), {b, -1});
  // horizontal: for each height h, relu(conv) [B, n_h, L - h + 1, 1] -> max over time -> [B, n_h]
  std::vector<Tensor> pooled;
  for (std::int64_t h = 1; h <= length; ++h) {
    const Tensor c = relu(squeeze(conv_h->at<nn::Conv2d>(static_cast<std::size_t>(h - 1))->forward(x), 3));
    pooled.push_back(max(c, 2));
  }
  const Tensor features = cat({vertical, cat(pooled, 1)}, 1);
  const Tensor z = relu(fc1->forward(dropout->forward(features)));
  return cat({z, user_embedding->forward(batch.users)}, 1);
}

Tensor Caser::score_all(const SequenceBatch& batch) const { return fc2->forward(encode(batch)); }

Tensor Caser::score_items(const SequenceBatch& batch, const Tensor& items) const {
  RG_CHECK(items.dim() == 2, "Caser.score_items: items must be [B, K], got ", items.shape());
  return score_items_with_head(encode(batch), fc2->weight, fc2->bias, items);
}

std::vector<OptionField<CaserOptions>> Caser::option_fields() {
  return {{"embedding", "width of the item and user embeddings", &CaserOptions::embedding},
          {"horizontal_filters", "horizontal filters per height (n_h)", &CaserOptions::horizontal_filters},
          {"vertical_filters", "vertical filters (n_v)", &CaserOptions::vertical_filters},
          {"dropout", "dropout before fc1", &CaserOptions::dropout},
          {"max_length", "history window L (the most recent items read; Caser's filter heights go up to L)",
           &CaserOptions::max_length}};
}

std::string Caser::describe() const {
  std::ostringstream out;
  out << "Caser(items " << num_items << ", users " << num_users << ", embedding " << options.embedding << ", n_h "
      << options.horizontal_filters << ", n_v " << options.vertical_filters << ", L " << options.max_length
      << ", dropout " << options.dropout << ")";
  return out.str();
}

}  // namespace recgrad::recsys
