// MiniOneRec's SFT model (recsys/generative/minionerec.h) on a small hand-made catalogue: the task mix of a
// training batch, the step counter that makes it reproducible, training that learns a deterministic next-item rule,
// beam search that returns valid distinct items whose cached-decoding scores equal the teacher-forced scores of the
// same items (and, with every item as a beam, the exact ranking), and clear errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/ops/copy.h"
#include "optim/adam.h"
#include "recgrad.h"
#include "recsys/generative/minionerec.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::recsys;
using datasets::ItemId;
using recgrad::testing::expect_error;

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
  MiniOneRec cramped(catalogue_ids(), catalogue_titles(), short_context);
  expect_error([&] { cramped.loss(rule_batch(), LossKind::full_softmax); }, {"more than the context of 10"});
}
