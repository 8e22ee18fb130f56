// TIGER's decoding (recsys/generative/beam_search.h, tiger.h): the constrained beam search never returns an
// invalid or repeated item, keeps beams sorted, and with enough beams equals brute-force enumeration; the
// model's cached decoding gives the same scores as teacher-forced recomputation; bad widths are refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "recgrad.h"
#include "recsys/generative/beam_search.h"
#include "recsys/generative/tiger.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::recsys;
using datasets::ItemId;
using recgrad::testing::expect_error;

namespace {

// `items` items with 3-level SIDs over codebooks of 4 (a pseudo-random, collision-free assignment) plus the
// deduplication level.
SemanticIds random_ids(std::int64_t items, std::uint64_t seed) {
  SemanticIds sids;
  sids.num_items = items;
  sids.codebook_sizes = {4, 4, 4};
  sids.codes.assign(static_cast<std::size_t>((items + 1) * 3), 0);
  std::set<std::int64_t> used;
  std::uint64_t state = seed;
  for (std::int64_t i = 1; i <= items; ++i) {
    std::int64_t code = 0;
    do {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      code = static_cast<std::int64_t>((state >> 33) % 64);
    } while (!used.insert(code).second);
    sids.codes[static_cast<std::size_t>(i * 3)] = static_cast<std::int32_t>(code / 16);
    sids.codes[static_cast<std::size_t>(i * 3 + 1)] = static_cast<std::int32_t>((code / 4) % 4);
    sids.codes[static_cast<std::size_t>(i * 3 + 2)] = static_cast<std::int32_t>(code % 4);
  }
  return with_dedup_level(sids);
}

// A deterministic "model": the log-probability of code c after a prefix is a fixed pseudo-random function of
// (row, prefix, c), normalised over the level's codes. The decode step tracks each beam's prefix itself.
struct TableModel {
  const SemanticIds& sids;
  std::int64_t rows;
  std::vector<std::vector<std::int32_t>> prefixes;  // per live beam

  double log_prob(std::int64_t row, const std::vector<std::int32_t>& prefix, std::int32_t code) const {
    const std::int64_t k = sids.codebook_sizes[prefix.size()];
    std::vector<double> logits(static_cast<std::size_t>(k));
    for (std::int64_t c = 0; c < k; ++c) {
      std::uint64_t h = 1469598103934665603ULL ^ static_cast<std::uint64_t>(row * 131 + c);
      for (std::int32_t p : prefix) h = (h ^ static_cast<std::uint64_t>(p + 7)) * 1099511628211ULL;
      logits[static_cast<std::size_t>(c)] = static_cast<double>(h % 1000) / 250.0;
    }
    double norm = 0;
    for (double l : logits) norm += std::exp(l);
    return logits[static_cast<std::size_t>(code)] - std::log(norm);
  }

  DecodeStep step() {
    return [this](std::int64_t level, const std::vector<std::int64_t>& parents,
                  const std::vector<std::int32_t>& last_codes) {
      std::vector<std::vector<std::int32_t>> next;
      std::vector<std::int64_t> row_of;
      for (std::size_t i = 0; i < parents.size(); ++i) {
        std::vector<std::int32_t> prefix =
            level == 0 ? std::vector<std::int32_t>{} : prefixes[static_cast<std::size_t>(parents[i])];
        if (level > 0) prefix.push_back(last_codes[i]);
        next.push_back(prefix);
      }
      // rows: at level 0 the parents are the rows; later, follow the chain
      if (level == 0) {
        row_of_beam.assign(parents.begin(), parents.end());
      } else {
        std::vector<std::int64_t> rows_now;
        for (std::int64_t p : parents) rows_now.push_back(row_of_beam[static_cast<std::size_t>(p)]);
        row_of_beam = rows_now;
      }
      prefixes = next;
      const std::int64_t k = sids.codebook_sizes[static_cast<std::size_t>(level)];
      Tensor out = zeros({static_cast<std::int64_t>(parents.size()), k}, {.dtype = DType::f64});
      for (std::size_t i = 0; i < parents.size(); ++i) {
        for (std::int64_t c = 0; c < k; ++c) {
          out.data<double>()[static_cast<std::int64_t>(i) * k + c] =
              log_prob(row_of_beam[i], prefixes[i], static_cast<std::int32_t>(c));
        }
      }
      return out;
    };
  }
  // The score of item `item` for row `row`, by enumeration.
  double score(std::int64_t row, ItemId item) const {
    const auto codes = sids.of(item);
    std::vector<std::int32_t> prefix;
    double total = 0;
    for (std::int32_t c : codes) {
      total += log_prob(row, prefix, c);
      prefix.push_back(c);
    }
    return total;
  }
  std::vector<std::int64_t> row_of_beam;
};

}  // namespace

TEST(BeamSearch, EveryBeamIsADistinctValidItemAndBeamsAreSorted) {
  const SemanticIds sids = random_ids(40, 3);
  const SidTrie trie(sids);
  for (std::int64_t width : {1, 3, 7, 20}) {
    TableModel model{sids, 3, {}, {}};
    const auto beams = constrained_beam_search(trie, 3, width, model.step());
    ASSERT_EQ(beams.size(), 3u);
    for (std::int64_t row = 0; row < 3; ++row) {
      const auto& found = beams[static_cast<std::size_t>(row)];
      EXPECT_EQ(static_cast<std::int64_t>(found.size()), width);
      std::set<ItemId> items;
      for (std::size_t i = 0; i < found.size(); ++i) {
        EXPECT_GE(found[i].item, 1);
        EXPECT_LE(found[i].item, 40);
        EXPECT_TRUE(items.insert(found[i].item).second) << "item " << found[i].item << " twice";
        EXPECT_NEAR(found[i].score, model.score(row, found[i].item), 1e-12);
        if (i > 0) {
          EXPECT_GE(found[i - 1].score, found[i].score);
        }
      }
    }
  }
}

TEST(BeamSearch, WithEnoughBeamsItEqualsBruteForceEnumeration) {
  const SemanticIds sids = random_ids(40, 5);
  const SidTrie trie(sids);
  TableModel model{sids, 2, {}, {}};
  const auto beams = constrained_beam_search(trie, 2, 40, model.step());
  for (std::int64_t row = 0; row < 2; ++row) {
    std::vector<std::pair<double, ItemId>> all;
    for (ItemId item = 1; item <= 40; ++item) all.emplace_back(model.score(row, item), item);
    std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    ASSERT_EQ(beams[static_cast<std::size_t>(row)].size(), 40u);
    for (std::size_t i = 0; i < all.size(); ++i) {
      EXPECT_NEAR(beams[static_cast<std::size_t>(row)][i].score, all[i].first, 1e-12) << "rank " << i;
    }
  }
}

TEST(BeamSearch, AZeroWidthOrAMisshapenStepIsRefused) {
  const SemanticIds sids = random_ids(10, 1);
  const SidTrie trie(sids);
  TableModel model{sids, 1, {}, {}};
  expect_error([&] { (void)constrained_beam_search(trie, 1, 0, model.step()); }, {"beam width must be >= 1", "0"});
  const DecodeStep bad = [](std::int64_t, const std::vector<std::int64_t>& parents, const std::vector<std::int32_t>&) {
    return zeros({static_cast<std::int64_t>(parents.size()) + 1, 4});
  };
  expect_error([&] { (void)constrained_beam_search(trie, 1, 2, bad); }, {"level 0", "[1, codes]", "[2, 4]"});
}

namespace {

std::shared_ptr<Tiger> tiny_tiger(const SemanticIds& sids, std::int64_t exact) {
  manual_seed(11);
  TigerOptions options;
  options.d_model = 16;
  options.encoder_layers = 1;
  options.decoder_layers = 2;
  options.heads = 2;
  options.head_dim = 8;
  options.d_ff = 16;
  options.max_length = 3;
  options.user_buckets = 5;
  options.valid_beams = 6;
  options.test_beams = 12;
  options.exact = exact;
  auto model = std::make_shared<Tiger>(sids, 7, options);
  model->eval();
  return model;
}

SequenceBatch histories() {
  SequenceBatch batch;
  batch.history = from_vector<std::int64_t>({0, 3, 5, 1, 2, 3, 0, 0, 9}, {3, 3});
  batch.targets = from_vector<std::int64_t>({1, 4, 2}, {3});
  batch.users = from_vector<std::int64_t>({0, 4, 6}, {3});
  return batch;
}

}  // namespace

TEST(Tiger, CachedBeamDecodingEqualsTeacherForcedRecomputation) {
  const SemanticIds sids = random_ids(30, 9);
  const auto model = tiny_tiger(sids, 0);
  const SequenceBatch batch = histories();
  const auto beams = model->recommend(batch, 8);
  for (std::size_t row = 0; row < beams.size(); ++row) {
    ASSERT_EQ(beams[row].size(), 8u);
    std::vector<std::int64_t> items;
    for (const ScoredItem& beam : beams[row]) items.push_back(beam.item);
    SequenceBatch one;
    one.history = narrow(batch.history, 0, static_cast<std::int64_t>(row), 1);
    one.users = narrow(batch.users, 0, static_cast<std::int64_t>(row), 1);
    const Tensor recomputed = model->score_items(one, from_vector<std::int64_t>(items, {1, 8}));
    for (std::size_t i = 0; i < items.size(); ++i) {
      EXPECT_NEAR(beams[row][i].score, recomputed.to_vector<float>()[i], 1e-4) << "row " << row << " beam " << i;
    }
  }
}

TEST(Tiger, BeamTopKEqualsTheExactRankingWhenNoPrefixIsPruned) {
  const SemanticIds sids = random_ids(30, 4);
  const SemanticIdUsage usage = semantic_id_usage(sids);
  const std::int64_t widest = *std::max_element(usage.prefixes.begin(), usage.prefixes.end());
  const auto exact = tiny_tiger(sids, 1);
  const SequenceBatch batch = histories();
  const auto full = exact->recommend(batch, 30);
  const auto beams = exact->recommend(batch, widest);
  for (std::size_t row = 0; row < full.size(); ++row) {
    for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(beams[row][i].item, full[row][i].item) << "row " << row;
  }
  // score_all in exact mode ranks every item by that score; with beams, items outside get the lowest float
  const Tensor all = exact->score_all(batch);
  EXPECT_NEAR(all.to_vector<float>()[static_cast<std::size_t>(full[0][0].item - 1)], full[0][0].score, 1e-4);
  const auto beamed = tiny_tiger(sids, 0);
  const Tensor some = beamed->score_all(batch);  // valid_beams = 6
  std::int64_t scored = 0;
  for (float v : some.to_vector<float>()) scored += v > std::numeric_limits<float>::lowest() ? 1 : 0;
  EXPECT_EQ(scored, 3 * 6);
}

TEST(Tiger, BadSettingsAreNamed) {
  const SemanticIds sids = random_ids(30, 2);
  TigerOptions too_wide;
  too_wide.test_beams = 31;
  expect_error([&] { Tiger model(sids, 3, too_wide); }, {"test_beams (31)", "30 items"});
  TigerOptions zero;
  zero.valid_beams = 0;
  expect_error([&] { Tiger model(sids, 3, zero); }, {"valid_beams", "got 0"});
  const auto model = tiny_tiger(sids, 0);
  SequenceBatch batch = histories();
  batch.history = from_vector<std::int64_t>({0, 3, 31}, {1, 3});
  expect_error([&] { (void)model->score_all(batch); }, {"history item 31", "0..30"});
  expect_error([&] { (void)model->loss(histories(), LossKind::sampled_bce); }, {"--loss softmax"});
  expect_error([&] { (void)Tiger::create({30, 3, nullptr, nullptr}, {}); }, {"no semantic IDs"});
}
