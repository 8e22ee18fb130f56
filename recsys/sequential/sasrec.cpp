#include "recsys/sequential/sasrec.h"

#include <sstream>

#include "autograd/ops.h"
#include "core/factory.h"
#include "core/ops/compare.h"
#include "core/ops/copy.h"
#include "nn/init.h"
#include "recsys/item_ids.h"

namespace recgrad::recsys {

SASRec::SASRec(std::int64_t num_items, SASRecOptions options) : options(options) {
  RG_CHECK(num_items > 0 && options.hidden > 0 && options.layers > 0 && options.heads > 0 &&
               options.hidden % options.heads == 0 && options.max_length > 0,
           "SASRec: needs num_items > 0, hidden a positive multiple of heads, layers > 0 and max_length > 0; got ",
           num_items, " items, hidden ", options.hidden, ", heads ", options.heads, ", layers ", options.layers,
           ", max_length ", options.max_length);
  this->num_items = num_items;
  item_embedding = register_module("item_embedding", std::make_shared<nn::Embedding>(num_items + 1, options.hidden, 0));
  position_embedding =
      register_module("position_embedding", std::make_shared<nn::Embedding>(options.max_length, options.hidden));
  layer_norm =
      register_module("layer_norm", std::make_shared<nn::LayerNorm>(Shape{options.hidden}, options.layer_norm_eps));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(options.dropout));
  blocks = register_module("blocks", std::make_shared<nn::ModuleList>());
  for (std::int64_t l = 0; l < options.layers; ++l) {
    blocks->push_back(std::make_shared<nn::TransformerEncoderLayer>(options.hidden, options.heads, options.inner,
                                                                    options.dropout, nn::FeedForwardActivation::gelu,
                                                                    /*norm_first=*/false, options.layer_norm_eps));
  }
  // RecBole's initialisation: every matrix N(0, init_std), biases 0, norm gains 1, the padding row 0.
  for (const auto& [name, parameter] : named_parameters()) {
    if (parameter.dim() >= 2) {
      nn::init::normal_(parameter, 0.0, options.init_std);
    } else if (name.ends_with("bias")) {
      nn::init::zeros_(parameter);
    } else {
      nn::init::ones_(parameter);
    }
  }
  nn::init::zeros_(narrow(item_embedding->weight.detach(), 0, 0, 1));
  declared_roles_ = {{"item_embedding.weight", ParameterRole::embedding},
                     {"position_embedding.weight", ParameterRole::embedding}};
}

Tensor SASRec::encode(const SequenceBatch& batch) const {
  const Tensor& history = batch.history;
  RG_CHECK(history.dim() == 2 && history.size(1) <= options.max_length && history.size(1) > 0,
           "SASRec: history must be [B, L] with 0 < L <= max_length = ", options.max_length, ", got ", history.shape());
  const std::int64_t length = history.size(1);
  // positions of the last L slots, so the most recent item always has position max_length - 1
  const Tensor positions = raw::to_device(arange(static_cast<double>(options.max_length - length),
                                                 static_cast<double>(options.max_length), 1.0, {DType::i64}),
                                          history.device());
  Tensor h = add(item_embedding->forward(history), position_embedding->forward(positions));
  h = dropout->forward(layer_norm->forward(h));
  nn::AttentionMasks masks;
  masks.causal = true;
  masks.key_padding_mask = raw::eq(history, 0.0);
  for (std::size_t l = 0; l < blocks->size(); ++l) h = blocks->at<nn::TransformerEncoderLayer>(l)->forward(h, masks);
  return select(h, 1, length - 1);
}

Tensor SASRec::score_all(const SequenceBatch& batch) const {
  return score_against_all_items(encode(batch), item_embedding->weight);
}

Tensor SASRec::score_items(const SequenceBatch& batch, const Tensor& items) const {
  return score_against_items(encode(batch), item_embedding->weight, items);
}

std::vector<OptionField<SASRecOptions>> SASRec::option_fields() {
  return {{"hidden", "width of the embeddings and of every block", &SASRecOptions::hidden},
          {"layers", "Transformer encoder blocks", &SASRecOptions::layers},
          {"heads", "attention heads per block", &SASRecOptions::heads},
          {"inner", "width of the feed-forward layer", &SASRecOptions::inner},
          {"dropout", "dropout of the embeddings, attention and feed-forward", &SASRecOptions::dropout},
          {"max_length", "history window L (the most recent items read)", &SASRecOptions::max_length},
          {"layer_norm_eps", "LayerNorm epsilon", &SASRecOptions::layer_norm_eps},
          {"init_std", "standard deviation of the N(0, std) weight initialisation", &SASRecOptions::init_std}};
}

std::string SASRec::describe() const {
  std::ostringstream out;
  out << "SASRec(items " << num_items << ", hidden " << options.hidden << ", layers " << options.layers << ", heads "
      << options.heads << ", inner " << options.inner << ", dropout " << options.dropout << ", max_length "
      << options.max_length << ")";
  return out.str();
}

}  // namespace recgrad::recsys
