#include "recsys/generative/tiger.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "core/factory.h"
#include "core/ops/copy.h"
#include "nn/init.h"

namespace recgrad::recsys {

using datasets::ItemId;

namespace {

template <typename Options>
std::vector<OptionField<Options>> tiger_option_fields() {
  return {{"d_model", "width of the embeddings and of both stacks", &Options::d_model},
          {"encoder_layers", "T5 encoder layers", &Options::encoder_layers},
          {"decoder_layers", "T5 decoder layers", &Options::decoder_layers},
          {"heads", "attention heads per layer", &Options::heads},
          {"head_dim", "width of each attention head", &Options::head_dim},
          {"d_ff", "width of the ReLU feed-forward layer", &Options::d_ff},
          {"dropout", "dropout of embeddings, attention, feed-forward and sub-layer outputs", &Options::dropout},
          {"max_length", "history window L (the most recent items read)", &Options::max_length},
          {"user_buckets", "hashed user tokens", &Options::user_buckets},
          {"position_buckets", "relative position buckets (T5: 32)", &Options::position_buckets},
          {"max_distance", "relative distances beyond this share the last bucket (T5: 128)", &Options::max_distance},
          {"valid_beams", "beam width when ranking validation rows", &Options::valid_beams},
          {"test_beams", "beam width when ranking test rows", &Options::test_beams},
          {"exact", "1: rank every catalogue item exactly instead of by beam search", &Options::exact}};
}

void check_options(const TigerOptions& o, std::int64_t num_users) {
  RG_CHECK(o.d_model >= 1 && o.encoder_layers >= 1 && o.decoder_layers >= 1 && o.heads >= 1 && o.head_dim >= 1 &&
               o.d_ff >= 1,
           "tiger: d_model, encoder_layers, decoder_layers, heads, head_dim and d_ff must be >= 1");
  RG_CHECK(o.dropout >= 0 && o.dropout < 1, "tiger: dropout must be in [0, 1), got ", o.dropout);
  RG_CHECK(o.max_length >= 1, "tiger: max_length must be >= 1, got ", o.max_length);
  RG_CHECK(o.user_buckets >= 1 && o.user_buckets <= (1 << 20), "tiger: user_buckets must be in 1..2^20, got ",
           o.user_buckets);
  RG_CHECK(o.position_buckets >= 2 && o.max_distance >= 2, "tiger: position_buckets and max_distance must be >= 2");
  RG_CHECK(o.valid_beams >= 1 && o.test_beams >= 1, "tiger: valid_beams and test_beams must be >= 1, got ",
           o.valid_beams, " and ", o.test_beams);
  RG_CHECK(o.exact == 0 || o.exact == 1, "tiger: exact must be 0 or 1, got ", o.exact);
  RG_CHECK(num_users >= 0, "tiger: num_users must be >= 0, got ", num_users);
}

}  // namespace

std::vector<OptionField<TigerOptions>> Tiger::option_fields() { return tiger_option_fields<TigerOptions>(); }
std::vector<OptionField<TigerPaperOptions>> TigerPaper::option_fields() {
  return tiger_option_fields<TigerPaperOptions>();
}

std::shared_ptr<Tiger> Tiger::create(const DatasetSizes& sizes, const TigerOptions& options) {
  RG_CHECK(sizes.semantic_ids != nullptr,
           "tiger: the data has no semantic IDs; load a MiniOneRec-format release (--sid-source release) or derive "
           "them from item text (--sid-source rqkmeans or rqvae)");
  RG_CHECK(sizes.semantic_ids->num_items == sizes.num_items, "tiger: the semantic IDs cover ",
           sizes.semantic_ids->num_items, " items but the data has ", sizes.num_items);
  return std::make_shared<Tiger>(*sizes.semantic_ids, sizes.num_users, options);
}

Tiger::Tiger(const SemanticIds& ids, std::int64_t num_users, TigerOptions o) : options(o), semantic_ids(ids) {
  check_options(o, num_users);
  num_items = ids.num_items;
  RG_CHECK(o.exact == 1 || (o.valid_beams <= num_items && o.test_beams <= num_items), "tiger: valid_beams (",
           o.valid_beams, ") and test_beams (", o.test_beams, ") must not exceed the catalogue's ", num_items,
           " items (exact=1 ranks them all)");
  trie = std::make_shared<SidTrie>(ids);  // refuses shared SIDs
  const std::int64_t levels = ids.levels();
  std::int64_t next = 2;  // 0 = pad, 1 = bos
  for (std::int64_t l = 0; l < levels; ++l) {
    level_offsets.push_back(next);
    next += ids.codebook_sizes[static_cast<std::size_t>(l)];
  }
  user_offset = next;
  vocabulary = user_offset + o.user_buckets;
  item_tokens = zeros({num_items + 1, levels}, {.dtype = DType::i64});
  auto* tokens = item_tokens.data<std::int64_t>();
  for (ItemId item = 1; item <= num_items; ++item) {
    const auto codes = ids.of(item);
    for (std::int64_t l = 0; l < levels; ++l) {
      tokens[item * levels + l] = level_offsets[static_cast<std::size_t>(l)] + codes[static_cast<std::size_t>(l)];
    }
  }

  const nn::T5LayerOptions layer{o.d_model, o.heads, o.head_dim, o.d_ff, o.dropout, 1e-6};
  shared = register_module("shared", std::make_shared<nn::Embedding>(vocabulary, o.d_model, /*padding_idx=*/0));
  nn::init::normal_(shared->weight, 0.0, 1.0);  // T5's shared embedding: N(0, 1) (factor 1)
  encoder_position_bias = register_module(
      "encoder_position_bias",
      std::make_shared<nn::RelativePositionBias>(o.heads, /*bidirectional=*/true, o.position_buckets, o.max_distance));
  decoder_position_bias = register_module(
      "decoder_position_bias",
      std::make_shared<nn::RelativePositionBias>(o.heads, /*bidirectional=*/false, o.position_buckets, o.max_distance));
  for (const auto& bias : {encoder_position_bias, decoder_position_bias}) {
    nn::init::normal_(bias->relative_attention_bias->weight, 0.0, 1.0 / std::sqrt(static_cast<double>(o.d_model)));
  }
  encoder_layers = register_module("encoder_layers", std::make_shared<nn::ModuleList>());
  for (std::int64_t i = 0; i < o.encoder_layers; ++i)
    encoder_layers->push_back(std::make_shared<nn::T5EncoderLayer>(layer));
  encoder_norm = register_module("encoder_norm", std::make_shared<nn::RMSNorm>(Shape{o.d_model}, 1e-6));
  decoder_layers = register_module("decoder_layers", std::make_shared<nn::ModuleList>());
  for (std::int64_t i = 0; i < o.decoder_layers; ++i)
    decoder_layers->push_back(std::make_shared<nn::T5DecoderLayer>(layer));
  decoder_norm = register_module("decoder_norm", std::make_shared<nn::RMSNorm>(Shape{o.d_model}, 1e-6));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(o.dropout));
  head = register_module("head", std::make_shared<nn::Linear>(o.d_model, vocabulary, /*bias=*/false));
  nn::init::normal_(head->weight, 0.0, 1.0 / std::sqrt(static_cast<double>(o.d_model)));
  declared_roles_ = {{"shared.weight", ParameterRole::embedding},
                     {"encoder_position_bias.relative_attention_bias.weight", ParameterRole::embedding},
                     {"decoder_position_bias.relative_attention_bias.weight", ParameterRole::embedding},
                     {"head.weight", ParameterRole::output_head}};
}

std::int64_t Tiger::user_bucket(std::int64_t user) const {
  return static_cast<std::int64_t>(splitmix64(static_cast<std::uint64_t>(user)) %
                                   static_cast<std::uint64_t>(options.user_buckets));
}

Tensor Tiger::encoder_tokens(const SequenceBatch& batch) const {
  RG_CHECK(batch.history.defined() && batch.history.dim() == 2 && batch.history.dtype() == DType::i64,
           "TIGER: the batch needs history [B, L] i64, got ",
           batch.history.defined() ? batch.history.shape() : Shape{});
  const Tensor history = raw::contiguous(raw::to_device(batch.history, Device::cpu()));
  const std::int64_t b = history.size(0), width = history.size(1), levels = semantic_ids.levels();
  const std::int64_t read = std::min(width, options.max_length);
  Tensor tokens = zeros({b, 1 + options.max_length * levels}, {.dtype = DType::i64});
  auto* out = tokens.data<std::int64_t>();
  const auto* items = history.data<std::int64_t>();
  const auto* sid = item_tokens.data<std::int64_t>();
  const std::int64_t columns = tokens.size(1);
  Tensor users;
  if (batch.users.defined()) users = raw::contiguous(raw::to_device(batch.users, Device::cpu()));
  for (std::int64_t r = 0; r < b; ++r) {
    const std::int64_t user = users.defined() ? users.data<std::int64_t>()[r] : 0;
    // The last `read` history columns, right-aligned, and the user token just before the first real item:
    // padding collects on the left, so the relative positions of the real tokens do not depend on it.
    std::int64_t first = read;  // the first non-padding history column among the last `read`
    for (std::int64_t j = 0; j < read; ++j) {
      const std::int64_t item = items[r * width + (width - read) + j];
      RG_CHECK(item >= 0 && item <= num_items, "TIGER: history item ", item, " (row ", r, ") is not in 0..", num_items);
      if (item != 0 && first == read) first = j;
      const std::int64_t slot = options.max_length - read + j;
      for (std::int64_t l = 0; l < levels; ++l) out[r * columns + 1 + slot * levels + l] = sid[item * levels + l];
    }
    const std::int64_t first_slot = options.max_length - read + first;
    out[r * columns + first_slot * levels] = user_offset + user_bucket(user);  // just before that item's tokens
  }
  return raw::to_device(tokens, batch.history.device());
}

Tensor Tiger::sid_tokens(const Tensor& items) const {
  RG_CHECK(items.dtype() == DType::i64, "TIGER: item ids must be i64, got ", items.dtype());
  const Tensor flat = raw::contiguous(raw::to_device(items, Device::cpu()));
  const auto* ids = flat.data<std::int64_t>();
  for (std::int64_t i = 0; i < flat.numel(); ++i) {
    RG_CHECK(ids[i] >= 1 && ids[i] <= num_items, "TIGER: item ", ids[i], " is not in 1..", num_items);
  }
  Shape shape = items.shape();
  shape.push_back(semantic_ids.levels());
  return reshape(index_select(raw::to_device(item_tokens, items.device()), 0, reshape(items, {items.numel()})), shape);
}

Tiger::Encoded Tiger::encode(const SequenceBatch& batch) const {
  const Tensor tokens = encoder_tokens(batch);
  Encoded encoded;
  encoded.padding = eq(tokens, 0.0);
  nn::AttentionMasks masks;
  masks.key_padding_mask = encoded.padding;
  masks.bias = encoder_position_bias->forward(tokens.size(1), tokens.size(1));
  Tensor h = dropout->forward(shared->forward(tokens));
  for (std::size_t i = 0; i < encoder_layers->size(); ++i)
    h = encoder_layers->at<nn::T5EncoderLayer>(i)->forward(h, masks);
  encoded.memory = dropout->forward(encoder_norm->forward(h));
  for (std::size_t i = 0; i < decoder_layers->size(); ++i) {
    encoded.cross.push_back(decoder_layers->at<nn::T5DecoderLayer>(i)->cross_attn->cross_keys_values(encoded.memory));
  }
  return encoded;
}

Tensor Tiger::decode(const Tensor& tokens, const Encoded& encoded, std::int64_t sequences_per_source) const {
  nn::AttentionMasks self_masks;
  self_masks.causal = true;
  self_masks.bias = decoder_position_bias->forward(tokens.size(1), tokens.size(1));
  nn::AttentionMasks source_masks;
  source_masks.key_padding_mask = encoded.padding;
  Tensor h = dropout->forward(shared->forward(tokens));
  for (std::size_t i = 0; i < decoder_layers->size(); ++i) {
    h = decoder_layers->at<nn::T5DecoderLayer>(i)->forward(h, self_masks, encoded.cross[i], source_masks, nullptr,
                                                           sequences_per_source);
  }
  return dropout->forward(decoder_norm->forward(h));
}

Tensor Tiger::level_logits(const Tensor& hidden, std::int64_t level) const {
  const Tensor rows = narrow(head->weight, 0, level_offsets[static_cast<std::size_t>(level)],
                             semantic_ids.codebook_sizes[static_cast<std::size_t>(level)]);  // [K_l, d]
  return matmul(hidden, transpose(rows, 0, 1));
}

Tensor Tiger::loss(const SequenceBatch& batch, LossKind kind) const {
  RG_CHECK(kind == LossKind::full_softmax,
           "TIGER: its loss is the token cross-entropy of the target's semantic ID; "
           "the sampled losses (",
           loss_name(kind), ") do not apply (use --loss softmax)");
  RG_CHECK(batch.targets.defined() && batch.targets.dim() == 1, "TIGER.loss: the batch needs targets [B]");
  const Encoded encoded = encode(batch);
  const Tensor targets = sid_tokens(batch.targets);  // [B, L]
  const std::int64_t b = targets.size(0), levels = targets.size(1);
  const Tensor bos = full({b, 1}, 1.0, {.dtype = DType::i64, .device = targets.device()});
  const Tensor inputs = cat({bos, narrow(targets, 1, 0, levels - 1)}, 1);  // [B, L]
  const Tensor hidden = decode(inputs, encoded);                           // [B, L, d]
  Tensor total;
  for (std::int64_t l = 0; l < levels; ++l) {
    const Tensor logits = level_logits(select(hidden, 1, l), l);  // [B, K_l]
    const Tensor codes = add(select(targets, 1, l), -static_cast<double>(level_offsets[static_cast<std::size_t>(l)]));
    const Tensor level_loss = cross_entropy(logits, codes);
    total = total.defined() ? add(total, level_loss) : level_loss;
  }
  return mul(total, 1.0 / static_cast<double>(levels));  // every level has B tokens: the mean over B * L tokens
}

Tensor Tiger::score_items(const SequenceBatch& batch, const Tensor& items) const {
  RG_CHECK(items.dim() == 2 && batch.history.defined() && items.size(0) == batch.history.size(0),
           "TIGER.score_items: expected items [B, K] for a batch of ",
           batch.history.defined() ? batch.history.size(0) : 0, " rows, got ", items.shape());
  const std::int64_t b = items.size(0), k = items.size(1), levels = semantic_ids.levels();
  const Encoded encoded = encode(batch);  // each row's candidates read its encoding without copies of it
  const Tensor targets = reshape(sid_tokens(items), {b * k, levels});
  const Tensor bos = full({b * k, 1}, 1.0, {.dtype = DType::i64, .device = items.device()});
  const Tensor hidden = decode(cat({bos, narrow(targets, 1, 0, levels - 1)}, 1), encoded, /*sequences_per_source=*/k);
  Tensor total;
  for (std::int64_t l = 0; l < levels; ++l) {
    const Tensor log_probs = log_softmax(level_logits(select(hidden, 1, l), l), 1);  // [B*K, K_l]
    const Tensor codes = add(select(targets, 1, l), -static_cast<double>(level_offsets[static_cast<std::size_t>(l)]));
    const Tensor picked = reshape(gather(log_probs, 1, reshape(codes, {b * k, 1})), {b * k});
    total = total.defined() ? add(total, picked) : picked;
  }
  return reshape(total, {b, k});
}

// The live beams are laid out in a grid [B rows x G slots] (G = the most beams any row has), so that each decoder
// layer's cross-attention reads a row's encoder output once for all its beams (T5DecoderLayer's
// sequences_per_source); slots a row does not fill repeat its first beam and are ignored.
std::vector<std::vector<ScoredItem>> Tiger::recommend(const SequenceBatch& batch, std::int64_t width) const {
  NoGradGuard no_grad;
  const Encoded encoded = encode(batch);
  const std::int64_t rows = encoded.memory.size(0);
  const Device device = encoded.memory.device();
  std::vector<nn::KVCache> caches(decoder_layers->size());
  std::vector<std::int64_t> row_of_beam;   // each live beam's batch row
  std::vector<std::int64_t> slot_of_beam;  // each live beam's slot in the grid
  nn::AttentionMasks source_masks;
  source_masks.key_padding_mask = encoded.padding;
  const DecodeStep step = [&](std::int64_t level, const std::vector<std::int64_t>& parents,
                              const std::vector<std::int32_t>& last_codes) {
    const auto alive = static_cast<std::int64_t>(parents.size());
    std::vector<std::int64_t> next_rows(parents.size());
    for (std::size_t i = 0; i < parents.size(); ++i) {
      next_rows[i] = level == 0 ? parents[i] : row_of_beam[static_cast<std::size_t>(parents[i])];
    }
    // The grid: beams come row by row (the search lists them so); slot j of row r is r * group + j.
    std::vector<std::int64_t> count(static_cast<std::size_t>(rows), 0);
    for (std::size_t i = 0; i < next_rows.size(); ++i) {
      RG_CHECK(i == 0 || next_rows[i - 1] <= next_rows[i], "TIGER: beam search listed beams out of row order");
      ++count[static_cast<std::size_t>(next_rows[i])];
    }
    const std::int64_t group = *std::max_element(count.begin(), count.end());
    std::vector<std::int64_t> beam_of_slot(static_cast<std::size_t>(rows * group), -1), next_slots(parents.size());
    std::vector<std::int64_t> filled(static_cast<std::size_t>(rows), 0);
    for (std::size_t i = 0; i < parents.size(); ++i) {
      const std::int64_t r = next_rows[i];
      next_slots[i] = r * group + filled[static_cast<std::size_t>(r)]++;
      beam_of_slot[static_cast<std::size_t>(next_slots[i])] = static_cast<std::int64_t>(i);
    }
    for (std::int64_t r = 0; r < rows; ++r) {  // unfilled slots repeat the row's first beam
      for (std::int64_t j = count[static_cast<std::size_t>(r)]; j < group; ++j) {
        beam_of_slot[static_cast<std::size_t>(r * group + j)] = beam_of_slot[static_cast<std::size_t>(r * group)];
      }
    }
    if (level > 0) {  // each slot's self-attention cache is its beam's parent's
      std::vector<std::int64_t> source_slot(beam_of_slot.size());
      for (std::size_t s = 0; s < beam_of_slot.size(); ++s) {
        source_slot[s] = slot_of_beam[static_cast<std::size_t>(parents[static_cast<std::size_t>(beam_of_slot[s])])];
      }
      const Tensor index = raw::to_device(
          from_vector<std::int64_t>(source_slot, {static_cast<std::int64_t>(source_slot.size())}), device);
      for (nn::KVCache& cache : caches) {
        cache.keys = index_select(cache.keys, 0, index);
        cache.values = index_select(cache.values, 0, index);
      }
    }
    row_of_beam = std::move(next_rows);
    slot_of_beam = std::move(next_slots);
    std::vector<std::int64_t> input(beam_of_slot.size(), 1);  // bos at level 0
    if (level > 0) {
      for (std::size_t s = 0; s < input.size(); ++s) {
        input[s] =
            level_offsets[static_cast<std::size_t>(level - 1)] + last_codes[static_cast<std::size_t>(beam_of_slot[s])];
      }
    }
    nn::AttentionMasks self_masks;
    self_masks.causal = true;
    self_masks.bias = decoder_position_bias->forward(1, level + 1, /*query_offset=*/level);
    const auto slots = static_cast<std::int64_t>(input.size());
    Tensor h = dropout->forward(shared->forward(raw::to_device(from_vector<std::int64_t>(input, {slots, 1}), device)));
    for (std::size_t i = 0; i < decoder_layers->size(); ++i) {
      h = decoder_layers->at<nn::T5DecoderLayer>(i)->forward(h, self_masks, encoded.cross[i], source_masks, &caches[i],
                                                             group);
    }
    h = dropout->forward(decoder_norm->forward(h));                                 // [slots, 1, d]
    const Tensor log_probs = log_softmax(level_logits(select(h, 1, 0), level), 1);  // [slots, K_l]
    const Tensor live = raw::to_device(from_vector<std::int64_t>(slot_of_beam, {alive}), device);
    return raw::to_device(index_select(log_probs, 0, live), Device::cpu());
  };
  return constrained_beam_search(*trie, rows, width, step);
}

Tensor Tiger::score_all(const SequenceBatch& batch) const {
  const std::int64_t width =
      options.exact == 1 ? num_items : (evaluating_test_ ? options.test_beams : options.valid_beams);
  return beam_score_matrix(recommend(batch, std::min(width, num_items)), num_items, batch.history.device());
}

std::string Tiger::describe() const {
  std::ostringstream out;
  out << "TIGER(items " << num_items << ", SID levels " << semantic_ids.levels() << " (fingerprint "
      << semantic_ids.fingerprint() << "), vocabulary " << vocabulary << ", d_model " << options.d_model << ", layers "
      << options.encoder_layers << "+" << options.decoder_layers << ", heads " << options.heads << "x"
      << options.head_dim << ", d_ff " << options.d_ff << ", dropout " << options.dropout << ", max_length "
      << options.max_length << ", user buckets " << options.user_buckets << ", beams "
      << (options.exact == 1 ? "exact" : std::to_string(options.valid_beams) + "/" + std::to_string(options.test_beams))
      << ")";
  return out.str();
}

}  // namespace recgrad::recsys
