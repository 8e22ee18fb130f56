#include "recsys/generative/minionerec.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <sstream>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "core/factory.h"
#include "core/ops/copy.h"
#include "core/ops/view.h"
#include "nn/qwen2_checkpoint.h"
#include "recsys/generative/bpe_prompt_vocabulary.h"
#include "recsys/generative/lm_batch.h"

namespace recgrad::recsys {

using datasets::ItemId;

namespace {

// A uniform draw in [0, 1) from (step, row, target, salt).
double draw(std::int64_t step, std::int64_t row, std::int64_t target, std::uint64_t salt) {
  const std::uint64_t h =
      splitmix64(splitmix64(splitmix64(static_cast<std::uint64_t>(step) ^ salt) ^ static_cast<std::uint64_t>(row)) ^
                 static_cast<std::uint64_t>(target));
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

std::vector<std::string> texts_of(const std::vector<std::string>& titles) {
  return std::vector<std::string>(titles.begin() + (titles.empty() ? 0 : 1), titles.end());
}

// The built-in word vocabulary, or with options.qwen2 the folder's tokenizer.json extended with the prompt tokens.
std::shared_ptr<const PromptVocabulary> make_vocabulary(const MiniOneRecOptions& o, const SemanticIds& ids,
                                                        const std::vector<std::string>& titles) {
  if (o.qwen2.empty()) {
    return std::make_shared<WordTokenizer>(WordTokenizer::build(ids, texts_of(titles), kPromptTasks, o.min_word_count));
  }
  const std::filesystem::path tokenizer_json = std::filesystem::path(o.qwen2) / "tokenizer.json";
  RG_CHECK(std::filesystem::is_regular_file(tokenizer_json), "minionerec: qwen2 folder ", o.qwen2,
           " has no tokenizer.json (its titles must be read with the checkpoint's own tokenizer)");
  return std::make_shared<BpePromptVocabulary>(datasets::BpeTokenizer::load(tokenizer_json.string()), ids,
                                               kPromptTasks);
}

// The Qwen2 checkpoint in `folder`, its vocabulary grown to `vocabulary`'s size; the rows of the added prompt and
// SID tokens (ids from vocabulary.base_size() on, including any padding rows of the checkpoint's table that they
// take over) start at the mean of the tokenizer's own rows, in the embedding and in a separate LM head alike.
std::shared_ptr<nn::Qwen2ForCausalLM> loaded_qwen2(const std::string& folder, const BpePromptVocabulary& vocabulary) {
  std::shared_ptr<nn::Qwen2ForCausalLM> lm = nn::load_qwen2_checkpoint(folder);
  const std::int64_t own = vocabulary.base_size();
  RG_CHECK(own <= lm->config.vocab_size, "minionerec: ", folder, "/tokenizer.json has ", own,
           " tokens but the checkpoint's vocabulary has only ", lm->config.vocab_size,
           " rows (vocab_size in config.json): the tokenizer does not belong to this checkpoint");
  lm->resize_vocabulary(std::max(lm->config.vocab_size, vocabulary.vocab_size()), /*kept_rows=*/own);
  return lm;
}

void check_options(const MiniOneRecOptions& o) {
  RG_CHECK(o.max_length >= 1 && o.title_words >= 1 && o.min_word_count >= 1,
           "minionerec: max_length, title_words and min_word_count must be >= 1");
  RG_CHECK(o.alignment_share >= 0 && o.alignment_share <= 1 && o.title_history_share >= 0 && o.title_history_share <= 1,
           "minionerec: alignment_share and title_history_share must be in [0, 1]");
  RG_CHECK(o.valid_beams >= 1 && o.test_beams >= 1, "minionerec: valid_beams and test_beams must be >= 1, got ",
           o.valid_beams, " and ", o.test_beams);
  RG_CHECK(o.exact == 0 || o.exact == 1, "minionerec: exact must be 0 or 1, got ", o.exact);
  RG_CHECK(o.valid_rows >= 0, "minionerec: valid_rows must be >= 0 (0 = every validation row), got ", o.valid_rows);
}

// The options of MiniOneRec and of its presets (O derives from MiniOneRecOptions).
template <typename O>
std::vector<OptionField<O>> minionerec_option_fields() {
  return {
      {"hidden", "width of the decoder (Qwen2 hidden_size)", &O::hidden},
      {"layers", "decoder layers", &O::layers},
      {"heads", "attention heads", &O::heads},
      {"kv_heads", "key/value heads (grouped-query attention)", &O::kv_heads},
      {"intermediate", "width of the SwiGLU feed-forward", &O::intermediate},
      {"rope_theta", "RoPE base", &O::rope_theta},
      {"max_length", "history items a next-item prompt reads", &O::max_length},
      {"title_words", "title words per item in the prompts", &O::title_words},
      {"min_word_count", "occurrences a title word needs to enter the vocabulary", &O::min_word_count},
      {"alignment_share", "chance per training row of adding its target's title<->SID examples", &O::alignment_share},
      {"title_history_share", "chance per training row of adding its title-history example", &O::title_history_share},
      {"valid_beams", "beam width when ranking validation rows", &O::valid_beams},
      {"test_beams", "beam width when ranking test rows", &O::test_beams},
      {"valid_rows", "validation rows ranked at each evaluation, evenly spread (0 = all)", &O::valid_rows},
      {"exact", "1: rank every catalogue item exactly instead of by beam search", &O::exact},
      {"context", "the longest prompt + response in tokens", &O::context},
      {"qwen2", "a Hugging Face Qwen2 folder to start from (empty: from scratch; its config replaces the sizes)",
       &O::qwen2}};
}

}  // namespace

std::vector<OptionField<MiniOneRecOptions>> MiniOneRec::option_fields() {
  return minionerec_option_fields<MiniOneRecOptions>();
}
std::vector<OptionField<MiniOneRecGpuOptions>> MiniOneRecGpu::option_fields() {
  return minionerec_option_fields<MiniOneRecGpuOptions>();
}

std::shared_ptr<MiniOneRec> MiniOneRec::create(const DatasetSizes& sizes, const MiniOneRecOptions& options) {
  RG_CHECK(sizes.semantic_ids != nullptr && sizes.item_titles != nullptr,
           "minionerec: the data has no semantic IDs or item titles; load a MiniOneRec-format release "
           "(--sid-source release, rqkmeans or rqvae)");
  RG_CHECK(sizes.semantic_ids->num_items == sizes.num_items, "minionerec: the semantic IDs cover ",
           sizes.semantic_ids->num_items, " items but the data has ", sizes.num_items);
  return std::make_shared<MiniOneRec>(*sizes.semantic_ids, *sizes.item_titles, options);
}

MiniOneRec::MiniOneRec(const SemanticIds& ids, std::vector<std::string> item_titles, MiniOneRecOptions o)
    : options(o),
      semantic_ids(ids),
      titles(std::move(item_titles)),
      tokenizer(make_vocabulary(o, semantic_ids, titles)),
      prompts(*tokenizer, semantic_ids, titles, {o.max_length, o.title_words, o.context}) {
  check_options(o);
  prompts.check_fits_context();
  num_items = ids.num_items;
  RG_CHECK(o.exact == 1 || (o.valid_beams <= num_items && o.test_beams <= num_items), "minionerec: valid_beams (",
           o.valid_beams, ") and test_beams (", o.test_beams, ") must not exceed the catalogue's ", num_items,
           " items (exact=1 ranks them all)");
  trie = std::make_shared<SidTrie>(semantic_ids);  // refuses shared SIDs
  if (o.qwen2.empty()) {
    nn::Qwen2Config config;
    config.vocab_size = tokenizer->vocab_size();
    config.hidden_size = o.hidden;
    config.num_hidden_layers = o.layers;
    config.num_attention_heads = o.heads;
    config.num_key_value_heads = o.kv_heads;
    config.intermediate_size = o.intermediate;
    config.rope_theta = o.rope_theta;
    config.tie_word_embeddings = true;
    lm = register_module("lm", std::make_shared<nn::Qwen2ForCausalLM>(config));
  } else {
    lm = register_module("lm", loaded_qwen2(o.qwen2, static_cast<const BpePromptVocabulary&>(*tokenizer)));
  }
  sampling_step = register_buffer("sampling_step", zeros({1}, {.dtype = DType::i64}));
  for (std::int64_t level = 0; level < semantic_ids.levels(); ++level) {
    std::vector<std::int64_t> ids_of_level;
    for (std::int64_t code = 0; code < semantic_ids.codebook_sizes[static_cast<std::size_t>(level)]; ++code) {
      ids_of_level.push_back(tokenizer->sid_token(level, code));
    }
    level_tokens_.push_back(from_vector(ids_of_level, {static_cast<std::int64_t>(ids_of_level.size())}));
  }
  declared_roles_ = {{"lm.model.embed_tokens.weight", ParameterRole::embedding}};
  // a separate LM head (a loaded untied checkpoint) goes to AdamW with the embeddings, as in MuonRec's recipe
  if (lm->lm_head) declared_roles_.push_back({"lm.lm_head.weight", ParameterRole::output_head});
}

MiniOneRec::MiniOneRec(const MiniOneRec& source, CopyTag)
    : options(source.options),
      semantic_ids(source.semantic_ids),
      titles(source.titles),
      tokenizer(source.tokenizer),
      prompts(*tokenizer, semantic_ids, titles, {options.max_length, options.title_words, options.context}),
      trie(source.trie),
      level_tokens_(source.level_tokens_) {
  num_items = source.num_items;
  lm = register_module("lm", std::make_shared<nn::Qwen2ForCausalLM>(source.lm->config));
  sampling_step = register_buffer("sampling_step", zeros({1}, {.dtype = DType::i64}));
  declared_roles_ = source.declared_roles_;
}

void MiniOneRec::save_hf(const std::string& folder) const {
  const auto* bpe = dynamic_cast<const BpePromptVocabulary*>(tokenizer.get());
  RG_CHECK(bpe != nullptr,
           "MiniOneRec.save_hf: this model reads its prompts with the built-in word vocabulary, "
           "which has no tokenizer.json; only a model started from a Qwen2 folder (minionerec.qwen2) exports to one");
  nn::save_qwen2_checkpoint(*lm, folder);
  bpe->tokenizer().save((std::filesystem::path(folder) / "tokenizer.json").string());
}

std::shared_ptr<MiniOneRec> MiniOneRec::frozen_copy() const {
  std::shared_ptr<MiniOneRec> copy(new MiniOneRec(*this, CopyTag{}));
  copy->to(lm->output_weight().device());
  copy->load_state_dict(state_dict());
  for (Tensor& p : copy->parameters()) p.requires_grad_(false);
  copy->eval();
  return copy;
}

std::vector<std::vector<ItemId>> MiniOneRec::histories_of(const SequenceBatch& batch) {
  RG_CHECK(batch.history.defined() && batch.history.dim() == 2, "MiniOneRec: the batch needs history [B, L], got ",
           batch.history.defined() ? batch.history.shape() : Shape{});
  const Tensor history = raw::contiguous(raw::to_device(batch.history, Device::cpu()));
  const std::int64_t rows = history.size(0), width = history.size(1);
  const auto* items = history.data<std::int64_t>();
  std::vector<std::vector<ItemId>> histories;
  for (std::int64_t r = 0; r < rows; ++r) histories.emplace_back(items + r * width, items + (r + 1) * width);
  return histories;
}

std::vector<PromptExample> MiniOneRec::training_examples(const SequenceBatch& batch) const {
  const std::vector<std::vector<ItemId>> histories = histories_of(batch);
  RG_CHECK(batch.targets.defined() && batch.targets.size(0) == static_cast<std::int64_t>(histories.size()),
           "MiniOneRec: the batch needs targets [B] for its ", histories.size(), " rows");
  const Tensor targets = raw::contiguous(raw::to_device(batch.targets, Device::cpu()));
  std::vector<PromptExample> examples;
  if (!is_training()) {  // evaluation: the next-SID task alone, with the prompt that ranking reads
    for (std::size_t r = 0; r < histories.size(); ++r) {
      examples.push_back(prompts.next_item(PromptTask::sid_history, histories[r], targets.data<std::int64_t>()[r]));
    }
    return examples;
  }
  // The step counter is a buffer: saved with the weights, restored on resume, moved with the model.
  const std::int64_t step = raw::to_device(sampling_step, Device::cpu()).data<std::int64_t>()[0];
  for (std::int64_t r = 0; r < static_cast<std::int64_t>(histories.size()); ++r) {
    const ItemId target = targets.data<std::int64_t>()[r];
    const std::vector<ItemId>& row_history = histories[static_cast<std::size_t>(r)];
    const bool has_history = std::any_of(row_history.begin(), row_history.end(), [](ItemId i) { return i != 0; });
    if (has_history) {
      examples.push_back(prompts.next_item(PromptTask::sid_history, row_history, target));
      if (draw(step, r, target, 1) < options.title_history_share) {
        examples.push_back(prompts.next_item(PromptTask::title_history, row_history, target));
      }
    }
    if (!has_history || draw(step, r, target, 2) < options.alignment_share) {
      examples.push_back(prompts.alignment(PromptTask::title_to_sid, target));
      examples.push_back(prompts.alignment(PromptTask::sid_to_title, target));
    }
  }
  raw::fill_(sampling_step, static_cast<double>(step + 1));
  return examples;
}

Tensor MiniOneRec::loss(const SequenceBatch& batch, LossKind kind) const {
  RG_CHECK(kind == LossKind::full_softmax,
           "MiniOneRec: its loss is the token cross-entropy of the responses; the sampled losses (", loss_name(kind),
           ") do not apply (use --loss softmax)");
  // Examples of similar lengths run together (a title history is several times longer than an alignment prompt):
  // the mean over all response tokens, without padding every row to the longest.
  const std::vector<LmBatch> groups = length_grouped_batches(training_examples(batch), kTokensPerGroup);
  std::int64_t response_tokens = 0;
  for (const LmBatch& group : groups) response_tokens += group.targets.size(0);
  const Device device = lm->output_weight().device();
  Tensor loss;
  for (const LmBatch& group : groups) {
    nn::AttentionMasks masks;
    masks.key_padding_mask = raw::to_device(group.padding, device);
    const Tensor hidden = lm->hidden_states(raw::to_device(group.tokens, device), masks);
    const Tensor part = mul(response_loss(hidden, group, [&](const Tensor& rows) { return lm->logits(rows); }),
                            static_cast<double>(group.targets.size(0)) / static_cast<double>(response_tokens));
    loss = loss.defined() ? add(loss, part) : part;
  }
  return loss;
}

Tensor MiniOneRec::score_items(const SequenceBatch& batch, const Tensor& items) const {
  RG_CHECK(items.dim() == 2 && batch.history.defined() && items.size(0) == batch.history.size(0),
           "MiniOneRec.score_items: expected items [B, K] for the batch's rows, got ", items.shape());
  const Tensor candidates = raw::contiguous(raw::to_device(items, Device::cpu()));
  const std::int64_t b = items.size(0), k = items.size(1), levels = semantic_ids.levels();
  const std::vector<std::vector<ItemId>> histories = histories_of(batch);
  std::vector<PromptExample> examples;
  for (std::int64_t r = 0; r < b; ++r) {
    for (std::int64_t j = 0; j < k; ++j) {
      examples.push_back(prompts.next_item(PromptTask::sid_history, histories[static_cast<std::size_t>(r)],
                                           candidates.data<std::int64_t>()[r * k + j]));
    }
  }
  const LmBatch lm_batch = training_batch(examples);  // every response: levels SID tokens + <eos>
  const Device device = lm->output_weight().device();
  nn::AttentionMasks masks;
  masks.key_padding_mask = raw::to_device(lm_batch.padding, device);
  const Tensor hidden = lm->hidden_states(raw::to_device(lm_batch.tokens, device), masks);
  const Tensor flat = reshape(hidden, {hidden.size(0) * hidden.size(1), hidden.size(2)});
  const Tensor rows = index_select(flat, 0, raw::to_device(lm_batch.scored_positions, device));
  const Tensor log_probs = log_softmax(lm->logits(rows), 1);  // [B*K*(levels+1), V]
  const Tensor picked =
      reshape(gather(log_probs, 1, reshape(raw::to_device(lm_batch.targets, device), {lm_batch.targets.size(0), 1})),
              {b * k, levels + 1});
  return reshape(sum(narrow(picked, 1, 0, levels), {1}), {b, k});  // the SID tokens, not <eos>
}

std::vector<std::vector<ScoredItem>> MiniOneRec::recommend(const SequenceBatch& batch, std::int64_t width) const {
  std::vector<PromptExample> examples;
  // The prompt does not depend on the target (any item stands in for it).
  for (const std::vector<ItemId>& history : histories_of(batch)) {
    examples.push_back(prompts.next_item(PromptTask::sid_history, history, /*target=*/1));
  }
  return recommend_prompts(examples, width);
}

std::vector<std::vector<ScoredItem>> MiniOneRec::recommend_prompts(const std::vector<PromptExample>& examples,
                                                                   std::int64_t width) const {
  NoGradGuard no_grad;
  std::size_t longest_prompt = 0;
  for (const PromptExample& e : examples) {
    RG_CHECK(
        e.task == PromptTask::sid_history || e.task == PromptTask::title_history || e.task == PromptTask::title_to_sid,
        "MiniOneRec.recommend_prompts: task ", static_cast<std::int64_t>(e.task),
        " answers with a title, not a semantic ID");
    longest_prompt = std::max(longest_prompt, e.prompt.size());
  }
  const std::int64_t rows_per_chunk =
      decode_rows_per_chunk(static_cast<std::int64_t>(longest_prompt) + semantic_ids.levels(), width);
  std::vector<std::vector<ScoredItem>> beams;
  beams.reserve(examples.size());
  for (std::size_t first = 0; first < examples.size(); first += static_cast<std::size_t>(rows_per_chunk)) {
    const std::size_t last = std::min(examples.size(), first + static_cast<std::size_t>(rows_per_chunk));
    const std::vector<PromptExample> chunk(examples.begin() + static_cast<std::ptrdiff_t>(first),
                                           examples.begin() + static_cast<std::ptrdiff_t>(last));
    for (std::vector<ScoredItem>& row : beam_search_chunk(chunk, width)) beams.push_back(std::move(row));
  }
  return beams;
}

std::int64_t MiniOneRec::decode_rows_per_chunk(std::int64_t sequence_length, std::int64_t width) const {
  const nn::Qwen2Config& config = lm->config;
  // Keys and values of every layer, f32 (the caches the search keeps for each live beam).
  const std::int64_t bytes_per_token = config.num_hidden_layers * 2 * config.num_key_value_heads * config.head_dim() *
                                       static_cast<std::int64_t>(sizeof(float));
  const std::int64_t bytes_per_row = std::max<std::int64_t>(1, width * sequence_length * bytes_per_token);
  return std::max<std::int64_t>(1, decode_cache_bytes / bytes_per_row);
}

std::vector<std::vector<ScoredItem>> MiniOneRec::beam_search_chunk(const std::vector<PromptExample>& examples,
                                                                   std::int64_t width) const {
  const auto rows = static_cast<std::int64_t>(examples.size());
  const LmBatch prompt = prompt_batch(examples);
  const Device device = lm->output_weight().device();
  const Tensor tokens = raw::to_device(prompt.tokens, device);
  Tensor padding = raw::to_device(prompt.padding, device);
  std::vector<nn::KVCache> caches(static_cast<std::size_t>(lm->config.num_hidden_layers));
  const DecodeStep step = [&](std::int64_t level, const std::vector<std::int64_t>& parents,
                              const std::vector<std::int32_t>& last_codes) {
    const auto alive = static_cast<std::int64_t>(parents.size());
    Tensor hidden;
    if (level == 0) {  // the prompts, all rows at once, filling the caches
      nn::AttentionMasks masks;
      masks.key_padding_mask = padding;
      hidden = select(lm->hidden_states(tokens, masks, &caches), 1, tokens.size(1) - 1);
    } else {  // each live beam continues its parent's cache with the code it took last
      const Tensor index = raw::to_device(from_vector(parents, {alive}), device);
      for (nn::KVCache& cache : caches) {
        cache.keys = index_select(cache.keys, 0, index);
        cache.values = index_select(cache.values, 0, index);
      }
      padding = cat({index_select(padding, 0, index), zeros({alive, 1}, {.dtype = DType::b8, .device = device})}, 1);
      std::vector<std::int64_t> input(static_cast<std::size_t>(alive));
      const std::int64_t* level_ids = level_tokens_[static_cast<std::size_t>(level - 1)].data<std::int64_t>();
      for (std::int64_t i = 0; i < alive; ++i)
        input[static_cast<std::size_t>(i)] = level_ids[last_codes[static_cast<std::size_t>(i)]];
      nn::AttentionMasks masks;
      masks.key_padding_mask = padding;
      hidden = select(lm->hidden_states(raw::to_device(from_vector(input, {alive, 1}), device), masks, &caches), 1, 0);
    }
    const Tensor log_probs = log_softmax(lm->logits(hidden), 1);  // over the whole vocabulary
    const Tensor of_level =
        index_select(log_probs, 1, raw::to_device(level_tokens_[static_cast<std::size_t>(level)], device));
    return raw::to_device(of_level, Device::cpu());
  };
  return constrained_beam_search(*trie, rows, width, step);
}

Tensor MiniOneRec::score_all(const SequenceBatch& batch) const {
  const std::int64_t width =
      options.exact == 1 ? num_items : (evaluating_test_ ? options.test_beams : options.valid_beams);
  return beam_score_matrix(recommend(batch, std::min(width, num_items)), num_items, batch.history.device());
}

std::string MiniOneRec::describe() const {
  std::ostringstream out;
  out << "MiniOneRec(items " << num_items << ", SID levels " << semantic_ids.levels() << " (fingerprint "
      << semantic_ids.fingerprint() << "), " << tokenizer->summary() << ", "
      << (options.qwen2.empty() ? "from scratch" : "from Qwen2 " + options.qwen2) << ", hidden "
      << lm->config.hidden_size << ", layers " << lm->config.num_hidden_layers << ", heads "
      << lm->config.num_attention_heads << "/" << lm->config.num_key_value_heads << " kv, SwiGLU "
      << lm->config.intermediate_size << ", rope " << lm->config.rope_theta << ", "
      << (lm->config.tie_word_embeddings ? "tied" : "separate") << " LM head, max_length " << options.max_length
      << ", title words " << options.title_words << ", tasks: next SID + title history " << options.title_history_share
      << " + alignment " << options.alignment_share << ", beams "
      << (options.exact == 1 ? "exact" : std::to_string(options.valid_beams) + "/" + std::to_string(options.test_beams))
      << ")";
  return out.str();
}

}  // namespace recgrad::recsys
