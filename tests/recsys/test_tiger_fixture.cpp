// The whole TIGER encoder-decoder against a PyTorch reference written from the T5 and TIGER formulas
// (tests/fixtures/make_t5_fixtures.py): the encoder's token layout (user bucket, left-padded SIDs), the loss and
// every parameter's gradient (f32 against float64 torch, 1e-5 relative), the teacher-forced item scores, and the
// constrained beam search's items and scores.
#include <gtest/gtest.h>

#include "autograd/grad_mode.h"
#include "fixture_check.h"
#include "recgrad.h"
#include "recsys/generative/tiger.h"

using namespace recgrad;
using namespace recgrad::recsys;
using recgrad::testing::check_fixture_case;
using recgrad::testing::expect_matches_reference;
using recgrad::testing::load_fixture;

namespace {

/// The fixture's semantic IDs: in.item_codes [(items + 1), levels] (row 0: padding), in.codebook_sizes.
SemanticIds fixture_ids(const nn::StateDict& fixture) {
  const Tensor& codes = fixture.at("in.item_codes");
  SemanticIds ids;
  ids.num_items = codes.size(0) - 1;
  ids.codebook_sizes = fixture.at("in.codebook_sizes").to_vector<std::int64_t>();
  for (std::int64_t code : codes.to_vector<std::int64_t>()) ids.codes.push_back(static_cast<std::int32_t>(code));
  return ids;
}

/// The fixture's sizes: d_model 8, 2 + 2 layers, 2 heads of 3, d_ff 16, 5 user buckets, 8 position buckets
/// up to distance 6, a window of 3 items, no dropout.
TigerOptions fixture_options() {
  TigerOptions options;
  options.d_model = 8;
  options.encoder_layers = options.decoder_layers = 2;
  options.heads = 2;
  options.head_dim = 3;
  options.d_ff = 16;
  options.dropout = 0.0;
  options.max_length = 3;
  options.user_buckets = 5;
  options.position_buckets = 8;
  options.max_distance = 6;
  options.valid_beams = options.test_beams = 3;
  return options;
}

SequenceBatch fixture_batch(const nn::StateDict& in) {
  return {.history = in.at("history"), .targets = in.at("targets"), .users = in.at("users"), .negatives = {}};
}

}  // namespace

TEST(TigerFixture, MatchesTorchReference) {
  const nn::StateDict fixture = load_fixture("recsys", "tiger_model");
  Tiger model(fixture_ids(fixture), /*num_users=*/7, fixture_options());
  const SequenceBatch batch = fixture_batch({{"history", fixture.at("in.history")},
                                             {"targets", fixture.at("in.targets")},
                                             {"users", fixture.at("in.users")}});
  EXPECT_EQ(model.encoder_tokens(batch).to_vector<std::int64_t>(),
            fixture.at("encoder_tokens").to_vector<std::int64_t>());

  check_fixture_case("recsys", "tiger_model", model,
                     [&](const nn::StateDict& in) { return model.loss(fixture_batch(in), LossKind::full_softmax); });

  NoGradGuard no_grad;
  expect_matches_reference(model.score_items(batch, fixture.at("in.candidates")), fixture.at("scores"), "score_items");

  // The reference's own constrained beam search (fixed beams per row, top-k per step) finds the same items.
  const std::vector<std::vector<ScoredItem>> beams = model.recommend(batch, 3);
  const std::vector<std::int64_t> items = fixture.at("beam_items").to_vector<std::int64_t>();
  std::vector<double> scores;
  std::vector<std::int64_t> found;
  for (const auto& row : beams) {
    ASSERT_EQ(row.size(), 3U);
    for (const ScoredItem& beam : row) found.push_back(beam.item), scores.push_back(beam.score);
  }
  EXPECT_EQ(found, items);
  expect_matches_reference(from_vector<double>(scores, {4, 3}), fixture.at("beam_scores"), "beam scores");
}
