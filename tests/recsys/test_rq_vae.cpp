// RQ-VAE (recsys/generative/rq_vae.h) on small hand-made data: gradchecks of what is differentiable (decoder and
// codebooks through the whole loss, the encoder through the quantization loss), the straight-through estimator
// handing the reconstruction gradient to the encoder, residuals that shrink level by level after the k-means
// start, and training that lowers the loss and gives separated groups distinct codes.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <set>

#include "recgrad.h"
#include "recsys/generative/rq_vae.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::recsys;
using recgrad::testing::expect_error;

namespace {

// `items` points in 6-D: 4 coarse groups far apart, each split into 3 fine groups, plus a small wobble.
// Row 0 is the padding row.
Tensor grouped_features(std::int64_t items, DType dtype = DType::f32) {
  Tensor features = zeros({items + 1, 6}, {.dtype = DType::f64});
  double* x = features.data<double>();
  for (std::int64_t i = 0; i < items; ++i) {
    const std::int64_t coarse = i % 4, fine = (i / 4) % 3;
    double* row = x + (i + 1) * 6;
    row[coarse] = 3.0;
    row[4 + fine % 2] += fine == 2 ? -1.0 : 1.0;
    for (int j = 0; j < 6; ++j) row[j] += 0.02 * std::sin(static_cast<double>(i * 6 + j));
  }
  return dtype == DType::f64 ? features : to_dtype(features, DType::f32);
}

RqVaeOptions small_options() {
  RqVaeOptions options;
  options.hidden = {8};
  options.latent = 4;
  options.levels = 2;
  options.codebook_size = 4;
  options.epochs = 150;
  options.batch_size = 16;
  options.lr = 1e-2;
  options.seed = 5;
  return options;
}

}  // namespace

// The stop-gradients make the loss's gradient differ from its finite differences by design (the straight-through
// estimator, sg(r) in the codebook term, sg(e) in the commitment term), so each parameter group is checked on the
// term whose gradient is a true derivative: the decoder on the whole loss, the codebooks on the codebook term, the
// encoder on the commitment term (the encoder reaches every level's residual). The codes are piecewise constant; the
// finite-difference steps (1e-6) do not move any item across a boundary.
TEST(RqVae, GradcheckOfEachPartOnTheTermItsGradientDifferentiates) {
  const Tensor x = narrow(grouped_features(12, DType::f64), 0, 1, 12);
  manual_seed(1);
  RqVae model(6, small_options());
  model.to_dtype(DType::f64);
  model.initialise_codebooks(x, 2);
  std::vector<Tensor> encoder, decoder, codebooks;
  for (const auto& [name, p] : model.named_parameters()) {
    (name.rfind("encoder.", 0) == 0 ? encoder : name.rfind("decoder.", 0) == 0 ? decoder : codebooks).push_back(p);
  }
  ASSERT_EQ(codebooks.size(), 2u);
  const auto check = [&](const std::function<Tensor()>& loss, const std::vector<Tensor>& inputs, const char* what) {
    const GradcheckResult result = gradcheck([&](const std::vector<Tensor>&) { return loss(); }, inputs);
    EXPECT_TRUE(result.ok) << what << ": " << result.report;
  };
  check([&] { return model.forward(x).loss; }, decoder, "decoder, whole loss");
  check([&] { return model.forward(x).commitment; }, encoder, "encoder, commitment term");
  // Level l's residual holds sg(e_0..e_{l-1}), so a codebook's finite differences also move the later levels'
  // targets: the codebook term is checked on a one-level quantizer.
  RqVaeOptions one_level = small_options();
  one_level.levels = 1;
  manual_seed(1);
  RqVae single(6, one_level);
  single.to_dtype(DType::f64);
  single.initialise_codebooks(x, 2);
  check([&] { return single.forward(x).codebook; }, {single.codebooks[0]}, "codebook, codebook term");
}

TEST(RqVae, TheStraightThroughGradientHandsTheReconstructionGradientToTheEncoder) {
  const Tensor x = narrow(grouped_features(12, DType::f64), 0, 1, 12);
  manual_seed(1);
  RqVae model(6, small_options());
  model.to_dtype(DType::f64);
  model.initialise_codebooks(x, 2);
  const RqVaeOutput out = model.forward(x);
  out.reconstruction.backward();
  const Tensor first = model.encoder->at<nn::Linear>(0)->weight;
  const Tensor through_ste = first.grad().detach();
  // By hand: the decoder's gradient at z_q, pushed back through the encoder from z.
  for (const Tensor& p : model.parameters()) p.set_grad(Tensor());
  Tensor z_q = zeros_like(out.z);
  {
    NoGradGuard no_grad;
    Tensor residual = out.z.detach();
    for (std::int64_t l = 0; l < 2; ++l) {
      std::vector<std::int64_t> picked;
      for (std::int64_t i = 0; i < 12; ++i) picked.push_back(out.codes[static_cast<std::size_t>(i * 2 + l)]);
      const Tensor e = index_select(model.codebooks[static_cast<std::size_t>(l)], 0, from_vector(picked, {12}));
      z_q = add(z_q, e);
      residual = sub(residual, e);
    }
  }
  z_q = z_q.detach().requires_grad_();
  mse_loss(model.decode(z_q), x).backward();
  const Tensor z = model.encode(x);
  z.backward(z_q.grad());
  EXPECT_LT(recgrad::testing::max_abs_diff(first.grad(), through_ste), 1e-12);
  EXPECT_GT(recgrad::testing::max_abs_diff(through_ste, zeros_like(through_ste)), 1e-6)
      << "the encoder must get a gradient";
}

TEST(RqVae, ResidualsShrinkLevelByLevelFromTheKMeansStart) {
  const Tensor x = narrow(grouped_features(48), 0, 1, 48);
  manual_seed(3);
  RqVaeOptions options = small_options();
  options.levels = 3;
  RqVae model(6, options);
  model.initialise_codebooks(x, 4);
  NoGradGuard no_grad;
  Tensor residual = model.encode(x);
  const std::vector<std::int32_t> codes = model.quantize(residual);
  double previous = sum(square(residual)).item<double>();
  for (std::int64_t l = 0; l < 3; ++l) {
    std::vector<std::int64_t> picked;
    for (std::int64_t i = 0; i < 48; ++i) picked.push_back(codes[static_cast<std::size_t>(i * 3 + l)]);
    residual = sub(residual, index_select(model.codebooks[static_cast<std::size_t>(l)], 0, from_vector(picked, {48})));
    const double now = sum(square(residual)).item<double>();
    EXPECT_LT(now, previous) << "level " << l;
    previous = now;
  }
}

TEST(RqVae, TrainingLowersTheLossAndSeparatesTheGroups) {
  const Tensor features = grouped_features(48);
  const RqVaeResult result = train_rq_vae(features, small_options());
  ASSERT_EQ(result.loss_per_epoch.size(), 150u);
  EXPECT_LT(result.loss_per_epoch.back(), 0.5 * result.loss_per_epoch.front());
  EXPECT_EQ(result.ids.levels(), 2);
  // identical groups share codes less often than chance: the 12 groups get at least 8 distinct SIDs
  std::set<std::pair<std::int32_t, std::int32_t>> sids;
  for (datasets::ItemId item = 1; item <= 48; ++item) sids.insert({result.ids.of(item)[0], result.ids.of(item)[1]});
  EXPECT_GE(sids.size(), 8u);
  // seeded
  EXPECT_EQ(train_rq_vae(features, small_options()).ids.codes, result.ids.codes);
}

TEST(RqVae, BadSettingsAreNamed) {
  expect_error([] { RqVae model(6, RqVaeOptions{.levels = 0}); }, {"levels", "got 0"});
  RqVaeOptions no_epochs = small_options();
  no_epochs.epochs = 0;
  expect_error([&] { (void)train_rq_vae(grouped_features(8), no_epochs); }, {"epochs", "got 0"});
}
