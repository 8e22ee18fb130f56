#include "recsys/sequential/sasrec_muonrec.h"

#include <cmath>
#include <sstream>

#include "autograd/ops.h"
#include "core/factory.h"
#include "nn/init.h"
#include "recsys/history_alignment.h"
#include "recsys/item_ids.h"

namespace recgrad::recsys {
namespace {

/// b8 [B, 1, L, L], true where query i may not read key j: j > i (causal) or j at or past the row's length
/// (padding keys of a start-aligned history).
Tensor attention_mask(const Tensor& lengths, std::int64_t length, Device device) {
  const Tensor host = contiguous(to_device(lengths, Device::cpu()));
  const std::int64_t rows = lengths.size(0);
  Tensor mask = Tensor::empty({rows, 1, length, length}, DType::b8);
  bool* out = mask.data<bool>();
  const std::int64_t* count = host.data<std::int64_t>();
  for (std::int64_t b = 0; b < rows; ++b) {
    for (std::int64_t i = 0; i < length; ++i) {
      for (std::int64_t j = 0; j < length; ++j) out[(b * length + i) * length + j] = j > i || j >= count[b];
    }
  }
  return to_device(mask, device);
}

}  // namespace

SASRecMuonRec::SASRecMuonRec(std::int64_t num_items, SASRecMuonRecOptions options) : options(options) {
  RG_CHECK(num_items > 0 && options.hidden > 0 && options.heads > 0 && options.hidden % options.heads == 0 &&
               options.max_length > 0,
           "SASRec-MuonRec: needs num_items > 0, hidden a positive multiple of heads and max_length > 0; got ",
           num_items, " items, hidden ", options.hidden, ", heads ", options.heads, ", max_length ",
           options.max_length);
  this->num_items = num_items;
  const std::int64_t d = options.hidden;
  // torch's construction order: embeddings (items re-initialised N(0, init_std) at once), norms, attention,
  // feed-forward, output layer
  item_embedding = register_module("item_embedding", std::make_shared<nn::Embedding>(num_items + 1, d, 0));
  nn::init::normal_(item_embedding->weight, 0.0, options.init_std);
  position_embedding = register_module("position_embedding", std::make_shared<nn::Embedding>(options.max_length, d));
  embedding_dropout = register_module("embedding_dropout", std::make_shared<nn::Dropout>(options.dropout));
  ln_1 = register_module("ln_1", std::make_shared<nn::LayerNorm>(Shape{d}));
  ln_2 = register_module("ln_2", std::make_shared<nn::LayerNorm>(Shape{d}));
  ln_3 = register_module("ln_3", std::make_shared<nn::LayerNorm>(Shape{d}));
  linear_q = register_module("linear_q", std::make_shared<nn::Linear>(d, d));
  linear_k = register_module("linear_k", std::make_shared<nn::Linear>(d, d));
  linear_v = register_module("linear_v", std::make_shared<nn::Linear>(d, d));
  attention_dropout = register_module("attention_dropout", std::make_shared<nn::Dropout>(options.dropout));
  ffn_1 = register_module("ffn_1", std::make_shared<nn::Linear>(d, d));
  ffn_2 = register_module("ffn_2", std::make_shared<nn::Linear>(d, d));
  ffn_norm = register_module("ffn_norm", std::make_shared<nn::LayerNorm>(Shape{d}));
  ffn_dropout = register_module("ffn_dropout", std::make_shared<nn::Dropout>(options.dropout));
  s_fc = register_module("s_fc", std::make_shared<nn::Linear>(d, num_items));
  declared_roles_ = {{"item_embedding.weight", ParameterRole::embedding},
                     {"position_embedding.weight", ParameterRole::embedding},
                     {"s_fc.weight", ParameterRole::output_head}};
}

Tensor SASRecMuonRec::encode(const SequenceBatch& batch) const {
  const Tensor& history = batch.history;
  RG_CHECK(history.dim() == 2 && history.size(1) > 0 && history.size(1) <= options.max_length,
           "SASRec-MuonRec: history must be [B, L] with 0 < L <= max_length = ", options.max_length, ", got ",
           history.shape());
  const std::int64_t b = history.size(0), length = history.size(1), d = options.hidden, heads = options.heads;
  const StartAligned aligned = align_to_start(history);
  const DType dtype = item_embedding->weight.dtype();
  const Tensor positions = arange(0, static_cast<double>(length), 1, {DType::i64, history.device()});
  Tensor seq = embedding_dropout->forward(
      add(item_embedding->forward(aligned.items), position_embedding->forward(positions)));  // [B, L, d]
  const Tensor real = unsqueeze(recgrad::to_dtype(ne(aligned.items, 0.0), dtype), 2);        // [B, L, 1]
  seq = mul(seq, real);
  // attention: Q from LN1(seq), K and V from seq; scores / sqrt(hidden); padding keys and the future masked
  const Tensor queries = ln_1->forward(seq);
  const auto split_heads = [&](const Tensor& x) {  // [B, L, d] -> [B, heads, L, d / heads]
    return permute(reshape(x, {b, length, heads, d / heads}), {0, 2, 1, 3});
  };
  const Tensor q = split_heads(linear_q->forward(queries));
  const Tensor k = split_heads(linear_k->forward(seq));
  const Tensor v = split_heads(linear_v->forward(seq));
  const Tensor scores = mul(matmul(q, transpose(k, 2, 3)), 1.0 / std::sqrt(static_cast<double>(d)));
  const Tensor weights =
      attention_dropout->forward(masked_softmax(scores, attention_mask(aligned.lengths, length, history.device())));
  const Tensor attended = reshape(permute(matmul(weights, v), {0, 2, 1, 3}), {b, length, d});
  const Tensor block = add(attended, queries);  // the residual adds the normed queries
  // feed-forward with its own residual and norm, then padding rows zeroed and the final norm
  const Tensor x = ln_2->forward(block);
  const Tensor ff = ffn_dropout->forward(ffn_2->forward(relu(ffn_1->forward(x))));
  const Tensor out = ln_3->forward(mul(ffn_norm->forward(add(ff, x)), real));  // [B, L, d]
  // the state at each history's last real item (position length - 1 of the start-aligned row)
  const Tensor index = expand(reshape(aligned.last, {b, 1, 1}), {b, 1, d});
  return squeeze(gather(out, 1, index), 1);
}

Tensor SASRecMuonRec::score_all(const SequenceBatch& batch) const { return s_fc->forward(encode(batch)); }

Tensor SASRecMuonRec::score_items(const SequenceBatch& batch, const Tensor& items) const {
  return score_items_with_head(encode(batch), s_fc->weight, s_fc->bias, items);
}

std::vector<OptionField<SASRecMuonRecOptions>> SASRecMuonRec::option_fields() {
  return {{"hidden", "width of the embeddings, attention and feed-forward", &SASRecMuonRecOptions::hidden},
          {"heads", "attention heads", &SASRecMuonRecOptions::heads},
          {"dropout", "dropout of the embeddings, attention weights and feed-forward", &SASRecMuonRecOptions::dropout},
          {"max_length", "history window L (the most recent items read)", &SASRecMuonRecOptions::max_length},
          {"init_std", "standard deviation of the N(0, std) item-embedding initialisation",
           &SASRecMuonRecOptions::init_std}};
}

std::string SASRecMuonRec::describe() const {
  std::ostringstream out;
  out << "SASRec-MuonRec(items " << num_items << ", hidden " << options.hidden << ", 1 block, heads " << options.heads
      << ", dropout " << options.dropout << ", max_length " << options.max_length << ", init_std " << options.init_std
      << ")";
  return out.str();
}

}  // namespace recgrad::recsys
