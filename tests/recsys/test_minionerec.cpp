// MiniOneRec's SFT model (recsys/generative/minionerec.h) on a small hand-made catalogue: the task mix of a
// training batch, the step counter that makes it reproducible, training that learns a deterministic next-item rule,
// beam search that returns valid distinct items whose cached-decoding scores equal the teacher-forced scores of the
// same items (and, with every item as a beam, the exact ranking), and clear errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/ops/copy.h"
#include "core/ops/view.h"
#include "datasets/bpe_tokenizer.h"
#include "nn/qwen2_checkpoint.h"
#include "optim/adam.h"
#include "recgrad.h"
#include "recsys/generative/grpo.h"
#include "recsys/generative/grpo_stage.h"
#include "recsys/generative/minionerec.h"
#include "recsys/training_optimizer.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::recsys;
using datasets::ItemId;
using recgrad::testing::expect_error;
using recgrad::testing::max_abs_diff;

namespace {

constexpr std::int64_t kItems = 12;

// Item i: codes (i / 9, (i / 3) % 3, i % 3) over 3 levels of 3 codes (distinct for i < 27), plus the dedup level.
SemanticIds catalogue_ids() {
  SemanticIds ids;
  ids.num_items = kItems;
  ids.codebook_sizes = {3, 3, 3};
  ids.codes.assign((kItems + 1) * 3, 0);
  for (std::int64_t i = 1; i <= kItems; ++i) {
    ids.codes[static_cast<std::size_t>(i * 3)] = static_cast<std::int32_t>(i / 9);
    ids.codes[static_cast<std::size_t>(i * 3 + 1)] = static_cast<std::int32_t>((i / 3) % 3);
    ids.codes[static_cast<std::size_t>(i * 3 + 2)] = static_cast<std::int32_t>(i % 3);
  }
  return with_dedup_level(ids);
}

std::vector<std::string> catalogue_titles() {
  const std::vector<std::string> colours = {"red", "blue", "green"}, things = {"pen", "lamp", "desk", "ink"};
  std::vector<std::string> titles = {""};
  for (std::int64_t i = 1; i <= kItems; ++i) titles.push_back(colours[i % 3] + " " + things[i % 4] + " kit");
  return titles;
}

MiniOneRecOptions small_options() {
  MiniOneRecOptions o;
  o.hidden = 32;
  o.layers = 2;
  o.heads = 4;
  o.kv_heads = 2;
  o.intermediate = 48;
  o.max_length = 3;
  o.min_word_count = 1;
  o.valid_beams = o.test_beams = 4;
  return o;
}

// Rows whose next item follows the rule next = (last % 12) + 1: histories [a, b] with b = a + 1 (mod 12).
SequenceBatch rule_batch() {
  std::vector<std::int64_t> history, targets, users;
  for (std::int64_t a = 1; a <= kItems; ++a) {
    const std::int64_t b = a % kItems + 1;
    history.insert(history.end(), {0, a, b});
    targets.push_back(b % kItems + 1);
    users.push_back(a);
  }
  return {.history = from_vector(history, {kItems, 3}),
          .targets = from_vector(targets, {kItems}),
          .users = from_vector(users, {kItems}),
          .negatives = {}};
}

}  // namespace

TEST(MiniOneRec, TaskMixAndReproducibleDraws) {
  manual_seed(0);
  MiniOneRecOptions only_next = small_options();
  only_next.alignment_share = only_next.title_history_share = 0;
  MiniOneRec model(catalogue_ids(), catalogue_titles(), only_next);
  EXPECT_EQ(model.training_examples(rule_batch()).size(), static_cast<std::size_t>(kItems));
  MiniOneRecOptions all = small_options();
  all.alignment_share = all.title_history_share = 1;
  MiniOneRec every(catalogue_ids(), catalogue_titles(), all);
  const std::vector<PromptExample> examples = every.training_examples(rule_batch());
  ASSERT_EQ(examples.size(), static_cast<std::size_t>(4 * kItems));
  std::set<PromptTask> tasks;
  for (const PromptExample& e : examples) tasks.insert(e.task);
  EXPECT_EQ(tasks.size(), 4U);
  // Shares in between: the draws depend on the step counter, which advances in training mode only.
  MiniOneRec half(catalogue_ids(), catalogue_titles(), small_options());
  half.train();
  const auto first = half.training_examples(rule_batch()).size();
  EXPECT_EQ(half.sampling_step.to_vector<std::int64_t>(), std::vector<std::int64_t>{1});
  // In eval mode (the validation loss): each row's next-SID example alone, and the counter stays.
  half.eval();
  const std::vector<PromptExample> evaluated = half.training_examples(rule_batch());
  ASSERT_EQ(evaluated.size(), static_cast<std::size_t>(kItems));
  for (const PromptExample& e : evaluated) EXPECT_EQ(e.task, PromptTask::sid_history);
  EXPECT_EQ(half.sampling_step.to_vector<std::int64_t>(), std::vector<std::int64_t>{1});
  half.train();
  raw::fill_(half.sampling_step, 0.0);
  EXPECT_EQ(half.training_examples(rule_batch()).size(), first);  // the same step draws the same examples
}

// With every item as a beam, the beam search scores every item by cached decoding; those scores equal the
// teacher-forced scores of score_items (one full pass per item), and the beams are the catalogue, each once.
TEST(MiniOneRec, BeamScoresEqualTeacherForcedScores) {
  manual_seed(1);
  MiniOneRec model(catalogue_ids(), catalogue_titles(), small_options());
  for (const Tensor& p : model.parameters()) {  // weights well away from the 0.02 start, so scores differ
    NoGradGuard no_grad;
    raw::copy_(p, mul(p, 25.0));
  }
  model.eval();
  const SequenceBatch batch = rule_batch();
  const auto beams = model.recommend(batch, kItems);
  std::vector<std::int64_t> all_items;
  for (std::int64_t i = 1; i <= kItems; ++i) all_items.push_back(i);
  std::vector<std::int64_t> repeated;
  for (std::int64_t r = 0; r < kItems; ++r) repeated.insert(repeated.end(), all_items.begin(), all_items.end());
  NoGradGuard no_grad;
  const std::vector<float> forced =
      model.score_items(batch, from_vector(repeated, {kItems, kItems})).to_vector<float>();
  for (std::int64_t r = 0; r < kItems; ++r) {
    ASSERT_EQ(beams[static_cast<std::size_t>(r)].size(), static_cast<std::size_t>(kItems));
    std::set<ItemId> seen;
    for (const ScoredItem& beam : beams[static_cast<std::size_t>(r)]) {
      ASSERT_GE(beam.item, 1);
      ASSERT_LE(beam.item, kItems);
      EXPECT_TRUE(seen.insert(beam.item).second) << "item " << beam.item << " twice in row " << r;
      const float expected = forced[static_cast<std::size_t>(r * kItems + beam.item - 1)];
      EXPECT_NEAR(beam.score, expected, 1e-4 * (1 + std::abs(expected))) << "row " << r << " item " << beam.item;
    }
  }
}

// A cache budget too small for more than one row decodes the rows one chunk at a time; the beams are the same
// items with the same scores as those of one chunk holding every row.
TEST(MiniOneRec, DecodingInChunksOfRowsChangesNoBeam) {
  manual_seed(1);
  MiniOneRec model(catalogue_ids(), catalogue_titles(), small_options());
  for (const Tensor& p : model.parameters()) {
    NoGradGuard no_grad;
    raw::copy_(p, mul(p, 25.0));
  }
  model.eval();
  const SequenceBatch batch = rule_batch();
  const auto together = model.recommend(batch, 4);
  model.decode_cache_bytes = 1;  // one row per chunk
  const auto chunked = model.recommend(batch, 4);
  ASSERT_EQ(chunked.size(), together.size());
  for (std::size_t r = 0; r < together.size(); ++r) {
    ASSERT_EQ(chunked[r].size(), together[r].size()) << "row " << r;
    for (std::size_t k = 0; k < together[r].size(); ++k) {
      EXPECT_EQ(chunked[r][k].item, together[r][k].item) << "row " << r << " beam " << k;
      EXPECT_NEAR(chunked[r][k].score, together[r][k].score, 1e-5 * (1 + std::abs(together[r][k].score)));
    }
  }
}

// Training with AdamW learns the rule next = last + 1: most rows then rank their target first.
TEST(MiniOneRec, LearnsANextItemRule) {
  manual_seed(2);
  MiniOneRec model(catalogue_ids(), catalogue_titles(), small_options());
  model.train();
  AdamW optimizer(model.parameters(), AdamWOptions{.lr = 1e-2, .weight_decay = 0.0});
  const SequenceBatch batch = rule_batch();
  double first = 0, last = 0;
  for (int step = 0; step < 300; ++step) {
    optimizer.zero_grad();
    const Tensor loss = model.loss(batch, LossKind::full_softmax);
    loss.backward();
    optimizer.step();
    if (step == 0) first = loss.item<double>();
    last = loss.item<double>();
  }
  EXPECT_LT(last, 0.25 * first);
  model.eval();
  const auto beams = model.recommend(batch, 4);
  const std::vector<std::int64_t> targets = batch.targets.to_vector<std::int64_t>();
  int hits = 0;
  for (std::size_t r = 0; r < beams.size(); ++r) hits += beams[r].front().item == targets[r] ? 1 : 0;
  EXPECT_GE(hits, 10) << "of " << kItems;
}

TEST(MiniOneRec, BadInputIsRefused) {
  DatasetSizes sizes{.num_items = kItems, .num_users = 3, .semantic_ids = nullptr, .item_titles = nullptr};
  expect_error([&] { MiniOneRec::create(sizes, small_options()); }, {"no semantic IDs or item titles"});
  MiniOneRec model(catalogue_ids(), catalogue_titles(), small_options());
  expect_error([&] { model.loss(rule_batch(), LossKind::sampled_bce); }, {"use --loss softmax"});
  MiniOneRecOptions wide = small_options();
  wide.test_beams = kItems + 1;
  expect_error([&] { MiniOneRec(catalogue_ids(), catalogue_titles(), wide); },
               {"must not exceed the catalogue's 12 items"});
  MiniOneRecOptions short_context = small_options();
  short_context.context = 10;
  // refused when built, before any training: max_length 3 items of 4 SID tokens need 2 + 3 * 4 + 2 + 1 + 5 tokens
  expect_error([&] { MiniOneRec(catalogue_ids(), catalogue_titles(), short_context); },
               {"(task 0) has 22 tokens, more than the context of 10"});
}

namespace {
const std::string kQwenTokenizer = std::string(RECGRAD_TEST_DATA_DIR) + "/datasets/tiny_qwen_tokenizer.json";

// A tiny Qwen2 checkpoint folder in the Hugging Face layout whose tokenizer is the tiny Qwen tokenizer fixture, its
// embedding table padded by 5 rows beyond the tokenizer (as Qwen's 151936 rows pad its 151665 tokens).
std::string tiny_qwen2_folder(const std::string& name, std::int64_t extra_rows = 5) {
  const std::string folder = ::testing::TempDir() + "/" + name;
  std::filesystem::remove_all(folder);
  nn::Qwen2Config config;
  config.vocab_size = datasets::BpeTokenizer::load(kQwenTokenizer).vocab_size() + extra_rows;
  config.hidden_size = 16;
  config.num_hidden_layers = 1;
  config.num_attention_heads = 2;
  config.num_key_value_heads = 1;
  config.intermediate_size = 24;
  config.tie_word_embeddings = false;
  manual_seed(11);
  nn::save_qwen2_checkpoint(nn::Qwen2ForCausalLM(config), folder);
  std::filesystem::copy_file(kQwenTokenizer, folder + "/tokenizer.json");
  return folder;
}
}  // namespace

// Starting from a Qwen2 checkpoint: its weights and sizes are kept, its tokenizer.json reads the titles, and the
// vocabulary grows by the prompt and SID tokens, whose rows (and the checkpoint's padding rows they take over)
// start at the mean of the tokenizer's own rows; the model then trains and decodes like the one from scratch.
TEST(MiniOneRec, StartsFromAQwen2Checkpoint) {
  const std::string folder = tiny_qwen2_folder("recgrad_minionerec_qwen2");
  const auto checkpoint = nn::load_qwen2_checkpoint(folder);
  const std::int64_t own = datasets::BpeTokenizer::load(kQwenTokenizer).vocab_size();
  MiniOneRecOptions options = small_options();
  options.qwen2 = folder;
  MiniOneRec model(catalogue_ids(), catalogue_titles(), options);
  const nn::Qwen2Config& config = model.lm->config;
  EXPECT_EQ(config.hidden_size, 16);
  EXPECT_EQ(config.num_hidden_layers, 1);
  EXPECT_FALSE(config.tie_word_embeddings);
  // 4 frame tokens, 4 task tokens, 3 + 3 + 3 codes and the dedup level's codes
  const auto& ids = model.semantic_ids;
  std::int64_t sid_tokens = 0;
  for (const std::int64_t size : ids.codebook_sizes) sid_tokens += size;
  EXPECT_EQ(model.tokenizer->vocab_size(), own + 8 + sid_tokens);
  EXPECT_EQ(config.vocab_size, model.tokenizer->vocab_size());
  EXPECT_NE(model.describe().find("from Qwen2"), std::string::npos) << model.describe();
  for (const char* name : {"model.embed_tokens.weight", "lm_head.weight"}) {
    const Tensor loaded = model.lm->state_dict().at(name);
    const Tensor original = checkpoint->state_dict().at(name);
    EXPECT_EQ(max_abs_diff(narrow(loaded, 0, 0, own), narrow(original, 0, 0, own)), 0.0) << name;
    const Tensor row_mean = mean(narrow(original, 0, 0, own), {0}, true);
    for (const std::int64_t row : {own, own + 4, config.vocab_size - 1}) {
      EXPECT_LT(max_abs_diff(narrow(loaded, 0, row, 1), row_mean), 1e-7) << name << " row " << row;
    }
  }
  EXPECT_EQ(max_abs_diff(model.lm->state_dict().at("model.layers.0.mlp.up_proj.weight"),
                         checkpoint->state_dict().at("model.layers.0.mlp.up_proj.weight")),
            0.0);
  // titles through the checkpoint's tokenizer, with a leading space
  const datasets::BpeTokenizer bpe = datasets::BpeTokenizer::load(kQwenTokenizer);
  EXPECT_EQ(model.prompts.title_tokens(1), bpe.encode(" blue lamp kit"));
  // MuonRec's routing under the muon hybrid: the projections to Muon, the embeddings, the separate LM head and every
  // 1-D tensor to AdamW
  const std::string routing = make_training_optimizer("muon", model)->describe();
  const auto optimizer_of = [&](const std::string& name) {
    const std::size_t at = routing.find(name + " ");
    EXPECT_NE(at, std::string::npos) << name << " is not in\n" << routing;
    const std::string line = routing.substr(at, routing.find('\n', at) - at);
    return line.find("Muon") != std::string::npos ? "Muon" : (line.find("AdamW") != std::string::npos ? "AdamW" : "?");
  };
  for (const std::string projection : {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                                       "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"}) {
    EXPECT_STREQ(optimizer_of("lm.model.layers.0." + projection + ".weight"), "Muon") << projection;
  }
  EXPECT_STREQ(optimizer_of("lm.model.layers.0.self_attn.q_proj.bias"), "AdamW");
  EXPECT_STREQ(optimizer_of("lm.model.embed_tokens.weight"), "AdamW");
  EXPECT_STREQ(optimizer_of("lm.lm_head.weight"), "AdamW");
  EXPECT_STREQ(optimizer_of("lm.model.norm.weight"), "AdamW");
  // it trains and decodes valid, distinct items
  AdamW optimizer(model.parameters(), AdamWOptions{.lr = 0.01});
  model.train();
  const SequenceBatch batch = rule_batch();
  double first = 0.0, last = 0.0;
  for (int step = 0; step < 30; ++step) {
    optimizer.zero_grad();
    Tensor loss = model.loss(batch, LossKind::full_softmax);
    loss.backward();
    optimizer.step();
    (step == 0 ? first : last) = loss.item<double>();
  }
  EXPECT_LT(last, first);
  model.eval();
  for (const auto& beams : model.recommend(batch, 4)) {
    std::set<ItemId> distinct;
    for (const ScoredItem& beam : beams) {
      EXPECT_GE(beam.item, 1);
      EXPECT_LE(beam.item, kItems);
      distinct.insert(beam.item);
    }
    EXPECT_EQ(distinct.size(), 4u);
  }
  std::filesystem::remove_all(folder);
}

// A fine-tuned model exports as a Hugging Face folder with its extended tokenizer.json; starting from that folder
// gives the same vocabulary and the same weights (the SID rows are not restarted), so the same beams.
TEST(MiniOneRec, SaveHfRoundTripsThroughAQwen2Folder) {
  const std::string folder = tiny_qwen2_folder("recgrad_minionerec_export_source");
  MiniOneRecOptions options = small_options();
  options.qwen2 = folder;
  manual_seed(7);
  MiniOneRec model(catalogue_ids(), catalogue_titles(), options);
  AdamW optimizer(model.parameters(), AdamWOptions{.lr = 0.01});
  model.train();
  for (int step = 0; step < 5; ++step) {  // the SID rows move away from their mean start
    optimizer.zero_grad();
    model.loss(rule_batch(), LossKind::full_softmax).backward();
    optimizer.step();
  }
  const std::string exported = ::testing::TempDir() + "/recgrad_minionerec_exported";
  std::filesystem::remove_all(exported);
  model.save_hf(exported);
  options.qwen2 = exported;
  MiniOneRec reloaded(catalogue_ids(), catalogue_titles(), options);
  EXPECT_EQ(reloaded.tokenizer->vocab_size(), model.tokenizer->vocab_size());
  EXPECT_NE(reloaded.tokenizer->summary().find("prompt and SID tokens included"), std::string::npos);
  EXPECT_EQ(reloaded.tokenizer->sid_token(1, 2), model.tokenizer->sid_token(1, 2));
  EXPECT_EQ(reloaded.prompts.title_tokens(3), model.prompts.title_tokens(3));
  for (const auto& [name, tensor] : model.lm->state_dict()) {
    EXPECT_EQ(max_abs_diff(reloaded.lm->state_dict().at(name), tensor), 0.0) << name;
  }
  model.eval();
  reloaded.eval();
  const auto before = model.recommend(rule_batch(), 4);
  const auto after = reloaded.recommend(rule_batch(), 4);
  for (std::size_t r = 0; r < before.size(); ++r) {
    for (std::size_t k = 0; k < 4; ++k) EXPECT_EQ(after[r][k].item, before[r][k].item) << "row " << r;
  }
  // the built-in word vocabulary has no tokenizer.json to write
  expect_error([&] { MiniOneRec(catalogue_ids(), catalogue_titles(), small_options()).save_hf(exported + "_words"); },
               {"save_hf", "word vocabulary", "minionerec.qwen2"});
  std::filesystem::remove_all(folder);
  std::filesystem::remove_all(exported);
}

TEST(MiniOneRec, AQwen2FolderThatDoesNotFitIsRefusedNamingTheFile) {
  MiniOneRecOptions options = small_options();
  options.qwen2 = tiny_qwen2_folder("recgrad_minionerec_no_tokenizer");
  std::filesystem::remove(options.qwen2 + "/tokenizer.json");
  expect_error([&] { MiniOneRec(catalogue_ids(), catalogue_titles(), options); }, {"tokenizer.json", options.qwen2});
  // a tokenizer with more tokens than the checkpoint has rows belongs to another checkpoint
  options.qwen2 = tiny_qwen2_folder("recgrad_minionerec_small_table", -10);
  expect_error([&] { MiniOneRec(catalogue_ids(), catalogue_titles(), options); },
               {"tokenizer.json", "rows", "does not belong"});
  // a tokenizer.json extended for other semantic IDs: some of the tokens MiniOneRec adds, not all
  options.qwen2 = tiny_qwen2_folder("recgrad_minionerec_partly_extended");
  {
    datasets::BpeTokenizer partly = datasets::BpeTokenizer::load(kQwenTokenizer);
    partly.add_tokens({"<|rec_bos|>", "<a_0>"});
    partly.save(options.qwen2 + "/tokenizer.json");
  }
  expect_error([&] { MiniOneRec(catalogue_ids(), catalogue_titles(), options); },
               {"tokenizer.json", "has 2 of the", "other semantic IDs"});
  // a tokenizer.json that is not valid JSON
  options.qwen2 = tiny_qwen2_folder("recgrad_minionerec_broken_tokenizer");
  std::ofstream(options.qwen2 + "/tokenizer.json") << "{\"model\": {\"type\": \"BPE\", \"vocab\": ";
  expect_error([&] { MiniOneRec(catalogue_ids(), catalogue_titles(), options); }, {"tokenizer.json"});
  // a checkpoint with a wrong shape
  options.qwen2 = tiny_qwen2_folder("recgrad_minionerec_wrong_shape");
  {
    std::ifstream in(options.qwen2 + "/config.json");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string from = "\"intermediate_size\": 24";
    ASSERT_NE(text.find(from), std::string::npos) << text;
    text.replace(text.find(from), from.size(), "\"intermediate_size\": 20");
    std::ofstream(options.qwen2 + "/config.json") << text;
  }
  expect_error([&] { MiniOneRec(catalogue_ids(), catalogue_titles(), options); }, {"up_proj", "[24, 16]"});
}

// One GRPO step (recsys/generative/grpo.h) on next-SID prompts whose targets the 4 beams hold: with beta = 0 and
// the rule reward it raises each target's log-probability; the reference stays as it was; the log is filled in.
TEST(MiniOneRecGrpo, AStepRaisesTheRewardedTargets) {
  manual_seed(5);
  MiniOneRec policy(catalogue_ids(), catalogue_titles(), small_options());
  const std::shared_ptr<const MiniOneRec> reference = policy.frozen_copy();
  const nn::StateDict reference_before = reference->state_dict();
  // prompts whose target is among the 4 beams of the untrained policy (else the rule reward gives no signal)
  std::vector<PromptExample> prompts;
  const SequenceBatch batch = rule_batch();
  const std::vector<std::vector<ScoredItem>> beams = policy.recommend(batch, 4);
  const std::vector<std::int64_t> history = batch.history.to_vector<std::int64_t>();
  for (std::int64_t row = 0; row < kItems; ++row) {
    const std::vector<ItemId> row_history(history.begin() + row * 3, history.begin() + row * 3 + 3);
    const ItemId target = beams[static_cast<std::size_t>(row)][1].item;  // the second beam is "right"
    prompts.push_back(policy.prompts.next_item(PromptTask::sid_history, row_history, target));
  }
  const auto target_log_prob = [&]() {
    NoGradGuard no_grad;
    std::vector<PromptExample> completions = prompts;
    for (PromptExample& c : completions) {
      c.response = policy.prompts.sid_tokens(c.item);
      c.response.push_back(policy.tokenizer->eos());
    }
    return sum(score_completions(policy, completions).log_probs).item<double>();
  };
  const double before = target_log_prob();
  GrpoOptions options;
  options.group_size = 4;
  options.beta = 0.0;
  options.reward = GroupReward::rule;
  auto optimizer = make_training_optimizer("adamw", policy);
  const GrpoStepLog log = grpo_step(policy, *reference, *optimizer, prompts, options);
  EXPECT_DOUBLE_EQ(log.hit_share, 1.0);
  EXPECT_DOUBLE_EQ(log.mean_reward, 0.25);  // one hit in each group of 4
  EXPECT_EQ(log.mean_kl, 0.0) << "the first step starts at the reference";
  EXPECT_GT(log.entropy, 0.0);
  EXPECT_GT(target_log_prob(), before + 1e-3);
  for (const auto& [name, tensor] : reference->state_dict()) {
    EXPECT_EQ(max_abs_diff(tensor, reference_before.at(name)), 0.0) << name << " of the reference changed";
  }
  // a second step now sees a policy away from the reference
  EXPECT_GT(grpo_step(policy, *reference, *optimizer, prompts, options).mean_kl, 0.0);
}

// GRPO's reference is a frozen copy: the same scores, no gradients, eval mode, independent weights; a model
// started from a Qwen2 folder copies without reading the folder again (it is gone when the copy is made).
TEST(MiniOneRecGrpo, TheReferenceIsAFrozenCopy) {
  const std::string folder = tiny_qwen2_folder("recgrad_minionerec_frozen_copy");
  MiniOneRecOptions options = small_options();
  options.qwen2 = folder;
  manual_seed(6);
  MiniOneRec policy(catalogue_ids(), catalogue_titles(), options);
  std::filesystem::remove_all(folder);
  policy.train();
  const std::shared_ptr<const MiniOneRec> reference = policy.frozen_copy();
  EXPECT_FALSE(reference->is_training());
  for (const Tensor& p : reference->parameters()) EXPECT_FALSE(p.requires_grad());
  ASSERT_EQ(reference->state_dict().size(), policy.state_dict().size());
  for (const auto& [name, tensor] : policy.state_dict()) {
    EXPECT_EQ(max_abs_diff(reference->state_dict().at(name), tensor), 0.0) << name;
  }
  policy.eval();
  const SequenceBatch batch = rule_batch();
  const auto policy_beams = policy.recommend(batch, 4);
  const auto reference_beams = reference->recommend(batch, 4);
  for (std::size_t r = 0; r < policy_beams.size(); ++r) {
    for (std::size_t k = 0; k < 4; ++k) EXPECT_EQ(reference_beams[r][k].item, policy_beams[r][k].item);
  }
  {  // the copy's weights are its own
    NoGradGuard no_grad;
    raw::fill_(policy.lm->model->norm->weight, 3.0);
  }
  EXPECT_GT(max_abs_diff(reference->lm->model->norm->weight, policy.lm->model->norm->weight), 0.0);
}

TEST(MiniOneRecGrpo, BadOptionsAreRefused) {
  GrpoOptions options;
  options.group_size = kItems + 1;
  expect_error([&] { check_grpo_options(options, kItems); }, {"group_size must be in 2..12", "got 13"});
  options.group_size = 4;
  options.beta = -0.1;
  expect_error([&] { check_grpo_options(options, kItems); }, {"beta must be >= 0"});
  options.beta = 0.1;
  options.clip_grad_norm = -1;
  expect_error([&] { check_grpo_options(options, kItems); }, {"clip_grad_norm must be >= 0"});
}

namespace {
// The rule catalogue as a dataset: every split holds the 12 rows [a, a+1] -> a+2 (mod 12, items 1..12).
datasets::SequenceDataset rule_dataset() {
  datasets::SequenceDataset data;
  data.name = "rule";
  data.num_items = kItems;
  data.num_users = kItems;
  data.max_history_length = 2;
  data.items.resize(kItems + 1);
  for (datasets::Split* split : {&data.train, &data.valid, &data.test}) {
    for (ItemId a = 1; a <= kItems; ++a) {
      const ItemId b = a % kItems + 1;
      const std::vector<ItemId> history = {a, b};
      split->add_row(static_cast<datasets::UserId>(a - 1), history, b % kItems + 1);
    }
  }
  return data;
}
}  // namespace

namespace {
// A policy after a short SFT (seeded), ready for the GRPO stage.
std::unique_ptr<MiniOneRec> sft_policy(std::uint64_t seed, std::int64_t hidden = 32) {
  manual_seed(seed);
  MiniOneRecOptions sizes = small_options();
  sizes.valid_rows = 6;
  sizes.hidden = hidden;
  auto policy = std::make_unique<MiniOneRec>(catalogue_ids(), catalogue_titles(), sizes);
  AdamW sft(policy->parameters(), AdamWOptions{.lr = 0.01});
  for (int i = 0; i < 40; ++i) {
    sft.zero_grad();
    policy->loss(rule_batch(), LossKind::full_softmax).backward();
    sft.step();
  }
  return policy;
}
}  // namespace

// The RL stage after a short SFT: its step count, a finite log per step, validation before and after, the test of
// the SFT and of the final weights, and the same numbers again from the same seed.
TEST(MiniOneRecGrpo, TheStageRunsReproducibly) {
  const datasets::SequenceDataset data = rule_dataset();
  GrpoStageOptions options;
  options.step.group_size = 4;
  options.sid_history_prompts = 10;
  options.title_prompts = 4;
  options.prompts_per_step = 4;
  options.epochs = 2;
  options.eval_every = 2;
  TrainerOptions trainer;
  const auto run = [&]() {
    auto policy = sft_policy(6);  // a short SFT, so that the beams often hold the target
    auto optimizer = make_training_optimizer(
        "adamw", *policy, OptimizerOverrides{.lr = 1e-3, .adamw_lr = std::nullopt, .weight_decay = std::nullopt});
    return grpo_stage(*policy, *optimizer, data, options, trainer);
  };
  const GrpoStageResult first = run();
  ASSERT_EQ(first.steps.size(), 8u);  // 14 prompts in steps of 4: 4 a pass, 2 passes
  for (const GrpoStepLog& log : first.steps) {
    EXPECT_TRUE(std::isfinite(log.loss) && std::isfinite(log.mean_kl) && log.entropy > 0);
    EXPECT_GE(log.hit_share, 0.0);
    EXPECT_LE(log.hit_share, 1.0);
  }
  ASSERT_EQ(first.curve.size(), 5u);  // before, after steps 2, 4, 6, and after the last
  EXPECT_EQ(first.curve.front().step, 0);
  EXPECT_EQ(first.curve.back().step, 8);
  EXPECT_EQ(first.curve.front().valid.rows, 6);
  EXPECT_EQ(first.test.rows, kItems);
  EXPECT_EQ(first.sft_test.rows, kItems);
  const GrpoStageResult again = run();
  ASSERT_EQ(again.steps.size(), first.steps.size());
  for (std::size_t i = 0; i < first.steps.size(); ++i) {
    EXPECT_EQ(again.steps[i].loss, first.steps[i].loss) << i;
    EXPECT_EQ(again.steps[i].mean_reward, first.steps[i].mean_reward) << i;
  }
  EXPECT_EQ(again.test.ndcg(10), first.test.ndcg(10));
  GrpoStageOptions bad = options;
  bad.lr_scale = 0.0;
  expect_error([&] { check_grpo_stage_options(bad, kItems); }, {"lr_scale must be > 0"});
  bad = options;
  bad.prompts_per_step = 0;
  expect_error([&] { check_grpo_stage_options(bad, kItems); }, {"prompts_per_step must be >= 1"});
  bad = options;
  bad.step.group_size = 20;
  expect_error([&] { check_grpo_stage_options(bad, kItems); }, {"group_size must be in 2..12"});
}

// A stage interrupted after step 5 and resumed from its checkpoint follows the uninterrupted trajectory step for
// step. The policy it resumes with comes from another SFT seed: the checkpoint's policy, optimizer state and
// reference replace it (a reference copied from the new policy would change every KL term). A finished stage's
// checkpoint returns its result; a checkpoint whose reference does not fit the policy is refused, naming the
// tensors.
TEST(MiniOneRecGrpo, AResumedStageFollowsTheSameTrajectory) {
  const datasets::SequenceDataset data = rule_dataset();
  GrpoStageOptions options;
  options.step.group_size = 4;
  options.step.beta = 0.5;  // a large KL weight, so that the reference weighs on every step
  options.sid_history_prompts = 10;
  options.title_prompts = 4;
  options.prompts_per_step = 4;
  options.epochs = 2;
  options.eval_every = 3;
  options.checkpoint_every = 2;
  const TrainerOptions trainer;
  const auto make_optimizer = [](MiniOneRec& policy) {
    return make_training_optimizer(
        "adamw", policy, OptimizerOverrides{.lr = 1e-2, .adamw_lr = std::nullopt, .weight_decay = std::nullopt});
  };
  const auto whole = [&] {
    auto policy = sft_policy(6);
    return grpo_stage(*policy, *make_optimizer(*policy), data, options, trainer);
  }();
  ASSERT_EQ(whole.steps.size(), 8u);

  GrpoStageOptions checkpointed = options;
  checkpointed.checkpoint_path = ::testing::TempDir() + "/recgrad_grpo_stage.safetensors";
  checkpointed.resume = true;
  std::filesystem::remove(checkpointed.checkpoint_path);
  struct Interrupted {};
  {
    auto policy = sft_policy(6);
    EXPECT_THROW(grpo_stage(*policy, *make_optimizer(*policy), data, checkpointed, trainer,
                            [](const GrpoProgress& p) {
                              if (p.step == 5) throw Interrupted{};
                            }),
                 Interrupted);
  }
  auto other = sft_policy(9);  // another SFT: its weights and its copy must not be used
  const GrpoStageResult resumed = grpo_stage(*other, *make_optimizer(*other), data, checkpointed, trainer);
  EXPECT_TRUE(resumed.resumed);
  ASSERT_EQ(resumed.steps.size(), whole.steps.size());
  for (std::size_t i = 0; i < whole.steps.size(); ++i) {
    EXPECT_EQ(resumed.steps[i].loss, whole.steps[i].loss) << "step " << i;
    EXPECT_EQ(resumed.steps[i].mean_kl, whole.steps[i].mean_kl) << "step " << i;
    EXPECT_EQ(resumed.steps[i].mean_reward, whole.steps[i].mean_reward) << "step " << i;
  }
  ASSERT_EQ(resumed.curve.size(), whole.curve.size());
  for (std::size_t i = 0; i < whole.curve.size(); ++i) {
    EXPECT_EQ(resumed.curve[i].step, whole.curve[i].step);
    EXPECT_EQ(resumed.curve[i].valid.ndcg(10), whole.curve[i].valid.ndcg(10));
  }
  EXPECT_EQ(resumed.test.ndcg(10), whole.test.ndcg(10));
  EXPECT_EQ(resumed.sft_test.ndcg(10), whole.sft_test.ndcg(10));
  // finished: returned as it is
  auto third = sft_policy(10);
  const GrpoStageResult returned = grpo_stage(*third, *make_optimizer(*third), data, checkpointed, trainer);
  EXPECT_EQ(returned.steps.size(), whole.steps.size());
  EXPECT_EQ(returned.test.ndcg(10), whole.test.ndcg(10));
  // a policy of another size: the stored reference does not fit it
  auto wider = sft_policy(6, 48);
  expect_error([&] { grpo_stage(*wider, *make_optimizer(*wider), data, checkpointed, trainer); },
               {"reference model in", "does not match the policy", "lm.model.embed_tokens.weight", "[", "32]", "48]"});
  std::filesystem::remove(checkpointed.checkpoint_path);
}
