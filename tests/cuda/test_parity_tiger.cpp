// CPU-vs-CUDA parity of TIGER (recsys/generative/tiger.h): the loss and every parameter's gradient, the
// teacher-forced item scores, and the constrained beam search (the same items in the same order, the same
// scores). The model is a small one of random weights (two layers per stack, heads of a width other than
// d_model / heads). Skips without a GPU.
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "autograd/grad_mode.h"
#include "core/ops/copy.h"
#include "cuda/parity.h"
#include "recgrad.h"
#include "recsys/generative/tiger.h"

using namespace recgrad;
using namespace recgrad::recsys;
using recgrad::testing::expect_close;
using recgrad::testing::expect_module_parity;
using recgrad::testing::Tolerance;

namespace {

// A whole model is deeper than one layer: 1e-4 relative.
constexpr Tolerance kModelTolerance{1e-4, 1e-5};

/// 40 items with distinct SIDs over 3 levels of 4 codes (item i gets code 3 i + 1 mod 64, spread over the
/// prefixes), plus the deduplication level.
SemanticIds parity_ids() {
  SemanticIds ids;
  ids.num_items = 40;
  ids.codebook_sizes = {4, 4, 4};
  ids.codes.assign(41 * 3, 0);
  for (std::int64_t item = 1; item <= 40; ++item) {
    const std::int64_t code = (3 * item + 1) % 64;
    ids.codes[static_cast<std::size_t>(item * 3)] = static_cast<std::int32_t>(code / 16);
    ids.codes[static_cast<std::size_t>(item * 3 + 1)] = static_cast<std::int32_t>((code / 4) % 4);
    ids.codes[static_cast<std::size_t>(item * 3 + 2)] = static_cast<std::int32_t>(code % 4);
  }
  return with_dedup_level(ids);
}

TigerOptions parity_options() {
  TigerOptions options;
  options.d_model = 16;
  options.heads = 2;
  options.head_dim = 6;
  options.d_ff = 32;
  options.dropout = 0.0;
  options.max_length = 4;
  options.user_buckets = 11;
  options.valid_beams = options.test_beams = 5;
  return options;
}

std::shared_ptr<Tiger> make_tiger() { return std::make_shared<Tiger>(parity_ids(), 20, parity_options()); }

/// 6 rows of histories (left padding, one full row), their users and next items.
std::vector<Tensor> parity_batch() {
  const Tensor history = from_vector<std::int64_t>(
      {0, 0, 3, 17, 5, 9, 40, 2, 0, 0, 0, 8, 11, 11, 12, 30, 0, 7, 1, 39, 0, 0, 25, 26}, {6, 4});
  const Tensor targets = from_vector<std::int64_t>({4, 1, 40, 13, 22, 27}, {6});
  const Tensor users = from_vector<std::int64_t>({0, 5, 19, 3, 3, 12}, {6});
  return {history, targets, users};
}

SequenceBatch batch_of(const std::vector<Tensor>& in) {
  return {.history = in[0], .targets = in[1], .users = in[2], .negatives = {}};
}

}  // namespace

TEST(CudaParityTiger, LossAndEveryGradient) {
  SKIP_WITHOUT_CUDA();
  expect_module_parity<Tiger>(
      make_tiger,
      [](Tiger& model, const std::vector<Tensor>& in) { return model.loss(batch_of(in), LossKind::full_softmax); },
      parity_batch(), kModelTolerance, "TIGER loss");
}

TEST(CudaParityTiger, ItemScores) {
  SKIP_WITHOUT_CUDA();
  const Tensor candidates =
      from_vector<std::int64_t>({4, 1, 2, 1, 9, 10, 40, 39, 38, 13, 14, 15, 22, 2, 3, 27, 28, 40}, {6, 3});
  expect_module_parity<Tiger>(
      make_tiger,
      [&](Tiger& model, const std::vector<Tensor>& in) {
        return model.score_items(batch_of(in), raw::to_device(candidates, in[0].device()));
      },
      parity_batch(), kModelTolerance, "TIGER score_items");
}

// The beam search on both devices: the same items in the same order and the same scores, for a narrow width and
// for the exact mode's width (the whole catalogue).
TEST(CudaParityTiger, BeamSearch) {
  SKIP_WITHOUT_CUDA();
  manual_seed(4321);
  const std::shared_ptr<Tiger> host = make_tiger();
  manual_seed(4321);
  const std::shared_ptr<Tiger> device = make_tiger();
  device->to(Device::cuda());
  host->eval();
  device->eval();
  const std::vector<Tensor> in = parity_batch();
  std::vector<Tensor> on_device;
  for (const Tensor& t : in) on_device.push_back(raw::to_device(t, Device::cuda()));
  for (std::int64_t width : {5, 40}) {
    SCOPED_TRACE("width " + std::to_string(width));
    const auto expected = host->recommend(batch_of(in), width);
    const auto actual = device->recommend(batch_of(on_device), width);
    ASSERT_EQ(expected.size(), actual.size());
    for (std::size_t row = 0; row < expected.size(); ++row) {
      ASSERT_EQ(expected[row].size(), actual[row].size()) << "row " << row;
      for (std::size_t rank = 0; rank < expected[row].size(); ++rank) {
        EXPECT_EQ(expected[row][rank].item, actual[row][rank].item) << "row " << row << " rank " << rank;
        EXPECT_NEAR(expected[row][rank].score, actual[row][rank].score,
                    1e-5 + 1e-4 * std::abs(expected[row][rank].score))
            << "row " << row << " rank " << rank;
      }
    }
  }
}
