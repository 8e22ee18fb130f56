// MiniOneRec's prompts and batches (recsys/generative/prompts.h, lm_batch.h): the exact token layout of each task,
// histories cut to the most recent items and titles to their first words, clear errors (a prompt longer than the
// context, an SID token missing from the vocabulary, an empty history), left padding with the loss on the response
// only, and a batch of rows of different lengths giving the loss and gradients of its rows run one by one.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/ops/copy.h"
#include "nn/qwen2.h"
#include "recgrad.h"
#include "recsys/generative/lm_batch.h"
#include "recsys/generative/prompts.h"
#include "recsys/generative/word_tokenizer.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::recsys;
using recgrad::testing::expect_error;

namespace {

// 4 items with 2-level SIDs over codebooks of 3 and 4: 1 = (0, 1), 2 = (1, 3), 3 = (2, 0), 4 = (2, 2).
SemanticIds tiny_ids() {
  SemanticIds ids;
  ids.num_items = 4;
  ids.codebook_sizes = {3, 4};
  ids.codes = {0, 0, 0, 1, 1, 3, 2, 0, 2, 2};
  return ids;
}

std::vector<std::string> tiny_titles() {
  return {"", "Blue pen", "Red pen, fine tip", "Blue ink refill pack", "Desk lamp"};
}

struct Fixture {
  SemanticIds ids = tiny_ids();
  std::vector<std::string> items = tiny_titles();
  WordTokenizer tokenizer = WordTokenizer::build(
      ids, {"Blue pen", "Red pen, fine tip", "Blue ink refill pack", "Desk lamp"}, kPromptTasks, 1);
  std::int64_t sid(std::int64_t level, std::int64_t code) const { return tokenizer.sid_token(level, code); }
  std::int64_t word(const std::string& w) const { return tokenizer.id_of(w); }
};

constexpr std::int64_t kBos = WordTokenizer::kBos, kSep = WordTokenizer::kSep, kEos = WordTokenizer::kEos,
                       kItem = WordTokenizer::kItem;

// A small Qwen2 decoder in f64 (in f64 the sides of a comparison agree to rounding; f32 would blur a small error),
// its weights 20 times the 0.02 start so that rows differ: width `hidden` with 2 heads per 8, one key/value head
// per 2 query heads, SwiGLU 1.5 x hidden.
std::shared_ptr<nn::Qwen2ForCausalLM> decoder_f64(std::int64_t vocab, std::int64_t hidden, std::int64_t layers,
                                                  std::uint64_t seed) {
  nn::Qwen2Config config;
  config.vocab_size = vocab;
  config.hidden_size = hidden;
  config.num_hidden_layers = layers;
  config.num_attention_heads = hidden / 4;
  config.num_key_value_heads = hidden / 8;
  config.intermediate_size = hidden * 3 / 2;
  manual_seed(seed);
  auto model = std::make_shared<nn::Qwen2ForCausalLM>(config);
  for (const Tensor& p : model->parameters()) {
    NoGradGuard no_grad;
    raw::copy_(p, mul(p, 20.0));
  }
  model->to_dtype(DType::f64);
  return model;
}

}  // namespace

TEST(Prompts, TaskLayouts) {
  const Fixture f;
  const PromptBuilder builder(f.tokenizer, f.ids, f.items, {.max_history = 2, .title_words = 2, .context = 64});
  const std::int64_t t0 = f.tokenizer.task_token(0), t1 = f.tokenizer.task_token(1), t2 = f.tokenizer.task_token(2),
                     t3 = f.tokenizer.task_token(3);
  // Task 0: the last 2 non-padding history items (1 is cut), as SIDs between <item> separators.
  const PromptExample next = builder.next_item(PromptTask::sid_history, {0, 1, 2, 3}, 4);
  EXPECT_EQ(next.prompt,
            (std::vector<std::int64_t>{kBos, t0, f.sid(0, 1), f.sid(1, 3), kItem, f.sid(0, 2), f.sid(1, 0), kSep}));
  EXPECT_EQ(next.response, (std::vector<std::int64_t>{f.sid(0, 2), f.sid(1, 2), kEos}));
  EXPECT_EQ(next.item, 4);
  // Task 3: titles cut to 2 words.
  const PromptExample titles = builder.next_item(PromptTask::title_history, {2, 3}, 1);
  EXPECT_EQ(titles.prompt, (std::vector<std::int64_t>{kBos, t3, f.word("red"), f.word("pen"), kItem, f.word("blue"),
                                                      f.word("ink"), kSep}));
  EXPECT_EQ(titles.response, (std::vector<std::int64_t>{f.sid(0, 0), f.sid(1, 1), kEos}));
  // Tasks 1 and 2.
  EXPECT_EQ(builder.alignment(PromptTask::title_to_sid, 4).prompt,
            (std::vector<std::int64_t>{kBos, t1, f.word("desk"), f.word("lamp"), kSep}));
  const PromptExample to_title = builder.alignment(PromptTask::sid_to_title, 4);
  EXPECT_EQ(to_title.prompt, (std::vector<std::int64_t>{kBos, t2, f.sid(0, 2), f.sid(1, 2), kSep}));
  EXPECT_EQ(to_title.response, (std::vector<std::int64_t>{f.word("desk"), f.word("lamp"), kEos}));
}

TEST(Prompts, BadInputIsAClearError) {
  const Fixture f;
  const PromptBuilder small(f.tokenizer, f.ids, f.items, {.max_history = 10, .title_words = 8, .context = 8});
  expect_error(
      [&] {
        small.next_item(PromptTask::sid_history, {1, 2, 3}, 4);
      },
      {"item 4 (task 0) has 14 tokens, more than the context of 8"});
  // the bound of the whole catalogue, checked up front: the longest SID read max_history times
  expect_error([&] { small.check_fits_context(); }, {"(task 0) has", "more than the context of 8"});
  const PromptBuilder roomy(f.tokenizer, f.ids, f.items, {.max_history = 2, .title_words = 2, .context = 64});
  roomy.check_fits_context();
  const PromptBuilder builder(f.tokenizer, f.ids, f.items);
  expect_error(
      [&] {
        builder.next_item(PromptTask::sid_history, {0, 0}, 4);
      },
      {"the history of target item 4 is empty"});
  expect_error([&] { builder.next_item(PromptTask::title_to_sid, {1}, 4); }, {"task 1 is not a next-item task"});
  // Item 3's code 3 at level b has no token in a vocabulary built for codebooks of 3.
  SemanticIds narrower = f.ids;
  narrower.codebook_sizes = {3, 3};
  const WordTokenizer tokenizer = WordTokenizer::build(narrower, {}, kPromptTasks);
  const PromptBuilder missing(tokenizer, f.ids, f.items);
  expect_error([&] { missing.alignment(PromptTask::title_to_sid, 2); },
               {"item 2 (<a_1><b_3>)", "the token \"<b_3>\" is not in the vocabulary"});
}

TEST(LmBatch, LeftPaddingAndResponseOnlyTargets) {
  PromptExample a{{1, 6, 20, 4}, {30, 31, 2}, PromptTask::sid_history, 1};
  PromptExample b{{1, 7, 4}, {40, 2}, PromptTask::title_to_sid, 2};
  const LmBatch batch = training_batch({a, b});
  // Row a: prompt + response[:-1] = 6 tokens; row b: 4 tokens, left-padded by 2.
  EXPECT_EQ(batch.tokens.to_vector<std::int64_t>(),
            (std::vector<std::int64_t>{1, 6, 20, 4, 30, 31, 0, 0, 1, 7, 4, 40}));
  EXPECT_EQ(raw::to_dtype(batch.padding, DType::i64).to_vector<std::int64_t>(),
            (std::vector<std::int64_t>{0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0}));
  // Row a scores the positions of <sep>, 30, 31 (3, 4, 5); row b those of <sep>, 40 (6 + 4, 6 + 5).
  EXPECT_EQ(batch.scored_positions.to_vector<std::int64_t>(), (std::vector<std::int64_t>{3, 4, 5, 10, 11}));
  EXPECT_EQ(batch.targets.to_vector<std::int64_t>(), (std::vector<std::int64_t>{30, 31, 2, 40, 2}));
  const LmBatch prompts = prompt_batch({a, b});
  EXPECT_EQ(prompts.tokens.to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 6, 20, 4, 0, 1, 7, 4}));
}

// The loss of a left-padded batch equals the token-weighted mean of its rows' losses run one by one, and so do the
// gradients.
TEST(LmBatch, BatchEqualsRowsOneByOne) {
  const Fixture f;
  const PromptBuilder builder(f.tokenizer, f.ids, f.items);
  const std::vector<PromptExample> examples = {builder.next_item(PromptTask::sid_history, {1, 2, 3}, 4),
                                               builder.alignment(PromptTask::sid_to_title, 2),
                                               builder.next_item(PromptTask::title_history, {4}, 3)};
  const auto decoder = decoder_f64(f.tokenizer.vocab_size(), 16, 2, 3);
  nn::Qwen2ForCausalLM& model = *decoder;
  const auto loss_of = [&](const std::vector<PromptExample>& rows) {
    const LmBatch batch = training_batch(rows);
    nn::AttentionMasks masks;
    masks.key_padding_mask = batch.padding;
    return response_loss(model.hidden_states(batch.tokens, masks), batch,
                         [&](const Tensor& h) { return model.logits(h); });
  };
  const Tensor together = loss_of(examples);
  together.backward();
  const std::vector<double> batch_grad = model.model->embed_tokens->weight.grad().to_vector<double>();
  model.zero_grad();
  double weighted = 0, tokens = 0;
  for (const PromptExample& e : examples) {
    const Tensor alone = loss_of({e});
    const auto n = static_cast<double>(e.response.size());
    mul(alone, n).backward();
    weighted += alone.item<double>() * n;
    tokens += n;
  }
  EXPECT_NEAR(together.item<double>(), weighted / tokens, 1e-10 * std::abs(weighted / tokens));
  const std::vector<double> rows_grad = model.model->embed_tokens->weight.grad().to_vector<double>();
  ASSERT_EQ(rows_grad.size(), batch_grad.size());
  for (std::size_t i = 0; i < rows_grad.size(); ++i) {
    EXPECT_NEAR(batch_grad[i], rows_grad[i] / tokens, 1e-10 * (1 + std::abs(batch_grad[i]))) << i;
  }
}

// Grouping by length: every example in exactly one group, lengths ascending, each group within the token budget
// (a longer row alone), and the token-weighted mean of the groups' losses equals the loss of one padded batch.
TEST(LmBatch, LengthGroupsPartitionTheExamplesAndKeepTheLoss) {
  const Fixture f;
  const PromptBuilder builder(f.tokenizer, f.ids, f.items);
  const std::vector<PromptExample> examples = {builder.next_item(PromptTask::title_history, {1, 2, 3, 4}, 2),
                                               builder.alignment(PromptTask::title_to_sid, 1),
                                               builder.next_item(PromptTask::sid_history, {1, 2, 3}, 4),
                                               builder.alignment(PromptTask::sid_to_title, 2),
                                               builder.next_item(PromptTask::sid_history, {4}, 1),
                                               builder.alignment(PromptTask::title_to_sid, 4)};
  std::vector<std::int64_t> lengths;
  for (const PromptExample& e : examples)
    lengths.push_back(static_cast<std::int64_t>(e.prompt.size() + e.response.size() - 1));
  const std::int64_t budget = 24;
  const std::vector<LmBatch> groups = length_grouped_batches(examples, budget);
  std::int64_t rows = 0, targets = 0, previous_width = 0;
  for (const LmBatch& group : groups) {
    const std::int64_t b = group.tokens.size(0), width = group.tokens.size(1);
    EXPECT_TRUE(b == 1 || b * width <= budget) << b << " rows of " << width;
    EXPECT_GE(width, previous_width) << "ascending lengths";
    previous_width = width;
    rows += b;
    targets += group.targets.size(0);
  }
  EXPECT_GT(groups.size(), 1u);
  EXPECT_EQ(rows, static_cast<std::int64_t>(examples.size()));
  EXPECT_EQ(targets, training_batch(examples).targets.size(0));
  EXPECT_EQ(groups.back().tokens.size(1), *std::max_element(lengths.begin(), lengths.end()));
  expect_error([&] { length_grouped_batches(examples, 0); }, {"max_tokens must be >= 1"});

  const auto decoder = decoder_f64(f.tokenizer.vocab_size(), 8, 1, 4);
  nn::Qwen2ForCausalLM& model = *decoder;
  const auto loss_of = [&](const LmBatch& batch) {
    nn::AttentionMasks masks;
    masks.key_padding_mask = batch.padding;
    return response_loss(model.hidden_states(batch.tokens, masks), batch,
                         [&](const Tensor& h) { return model.logits(h); });
  };
  const double whole = loss_of(training_batch(examples)).item<double>();
  double grouped = 0.0;
  for (const LmBatch& group : groups) {
    grouped +=
        loss_of(group).item<double>() * static_cast<double>(group.targets.size(0)) / static_cast<double>(targets);
  }
  EXPECT_NEAR(grouped, whole, 1e-12 * std::abs(whole));
}
