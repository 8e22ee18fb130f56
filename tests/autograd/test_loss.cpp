// Losses: cross_entropy (ignore_index, label smoothing, reductions),
// binary_cross_entropy_with_logits and mse_loss: values by hand, gradients
// (gradcheck in f64) and error messages.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "recgrad.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::testing;

namespace {

void expect_all_near(const std::vector<double>& actual, const std::vector<double>& expected, double tolerance) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) EXPECT_NEAR(actual[i], expected[i], tolerance) << "at " << i;
}

}  // namespace

TEST(CrossEntropy, LabelSmoothingByHand) {
  // Row 0: logits [0, 0, 0], target 1: lse = ln 3 and every -log p_j = ln 3,
  //   so the loss is ln 3 = 1.0986123 whatever the smoothing.
  // Row 1: logits [0, ln 2, ln 5], target 2: lse = ln 8,
  //   nll = ln 8 - ln 5 = ln 1.6 = 0.4700036,
  //   mean_j -log p_j = ln 8 - (0 + ln 2 + ln 5) / 3 = 2.0794415 - 0.7675284 = 1.3119131,
  //   with ls = 0.3: 0.7 * 0.4700036 + 0.3 * 1.3119131 = 0.7225765.
  // Mean over the two rows: (1.0986123 + 0.7225765) / 2 = 0.9105944.
  const Tensor logits = from_vector<double>({0, 0, 0, 0, std::log(2.0), std::log(5.0)}, {2, 3});
  const Tensor targets = from_vector<std::int64_t>({1, 2});
  CrossEntropyOptions options;
  options.label_smoothing = 0.3;
  EXPECT_NEAR(cross_entropy(logits, targets, options).item<double>(), 0.9105944, 1e-7);
  options.reduction = Reduction::None;
  expect_all_near(cross_entropy(logits, targets, options).to_vector<double>(), {1.0986123, 0.7225765}, 1e-7);
  options.reduction = Reduction::Sum;
  EXPECT_NEAR(cross_entropy(logits, targets, options).item<double>(), 1.8211888, 1e-7);
  // Without smoothing: ln 3 and ln 1.6.
  EXPECT_NEAR(cross_entropy(logits, targets).item<double>(), (std::log(3.0) + std::log(1.6)) / 2, 1e-12);
  // f32 and i32 targets give the same numbers.
  EXPECT_NEAR(cross_entropy(to_dtype(logits, DType::f32), to_dtype(targets, DType::i32)).item<float>(),
              (std::log(3.0) + std::log(1.6)) / 2, 1e-6);
}

TEST(CrossEntropy, GradientIsSoftmaxMinusTarget) {
  // Row [0, 0, 0] with target 1 and Sum: softmax - onehot = [1/3, -2/3, 1/3];
  // with ls = 0.3 the target is 0.7 onehot + 0.1: [1/3 - 0.1, 1/3 - 0.8, 1/3 - 0.1].
  const Tensor logits = zeros({1, 3}, {DType::f64}).requires_grad_();
  const Tensor targets = from_vector<std::int64_t>({1});
  cross_entropy(logits, targets, {.reduction = Reduction::Sum}).backward();
  expect_all_near(logits.grad().to_vector<double>(), {1.0 / 3, -2.0 / 3, 1.0 / 3}, 1e-12);
  logits.set_grad(Tensor());
  cross_entropy(logits, targets, {.label_smoothing = 0.3, .reduction = Reduction::Sum}).backward();
  expect_all_near(logits.grad().to_vector<double>(), {1.0 / 3 - 0.1, 1.0 / 3 - 0.8, 1.0 / 3 - 0.1}, 1e-12);
}

TEST(CrossEntropy, IgnoreIndexLeavesRowOutOfMean) {
  // Rows 0 and 2 count (loss ln 3 each); row 1 is ignored: mean = ln 3, and
  // row 1's gradient is zero while rows 0 and 2 are scaled by 1/2.
  const Tensor logits = zeros({3, 3}, {DType::f64}).requires_grad_();
  const Tensor targets = from_vector<std::int64_t>({0, -100, 2});
  const Tensor loss = cross_entropy(logits, targets);
  EXPECT_NEAR(loss.item<double>(), std::log(3.0), 1e-12);
  loss.backward();
  expect_all_near(logits.grad().to_vector<double>(), {-1.0 / 3, 1.0 / 6, 1.0 / 6, 0, 0, 0, 1.0 / 6, 1.0 / 6, -1.0 / 3},
                  1e-12);
  // A custom ignore_index, and None keeps a zero loss for the ignored row.
  const std::vector<double> per_row =
      cross_entropy(logits, from_vector<std::int64_t>({0, 1, 2}), {.ignore_index = 1, .reduction = Reduction::None})
          .to_vector<double>();
  expect_all_near(per_row, {std::log(3.0), 0.0, std::log(3.0)}, 1e-12);
  // Every row ignored: Mean is 0 / 0 = NaN, like torch.
  EXPECT_TRUE(std::isnan(cross_entropy(logits, from_vector<std::int64_t>({-100, -100, -100})).item<double>()));
}

TEST(CrossEntropy, StableForLargeLogits) {
  const Tensor logits = from_vector<float>({1000, 0, -1000, 1000}, {2, 2});
  const std::vector<float> losses =
      cross_entropy(logits, from_vector<std::int64_t>({0, 0}), {.reduction = Reduction::None}).to_vector<float>();
  EXPECT_EQ(losses[0], 0.0f);
  EXPECT_EQ(losses[1], 2000.0f);
}

TEST(CrossEntropy, LargeVocabularyMatchesLogSoftmax) {
  // Rows longer than one 1024-element block (the max often sits in a late
  // block), and enough of them for the rows to be split between threads.
  manual_seed(11);
  const std::int64_t rows = 64, classes = 3001;
  Tensor logits = mul(randn({rows, classes}, {DType::f64}), 3.0);
  const Tensor targets = randint(0, classes, {rows});
  const std::vector<double> log_p = log_softmax(logits, 1).to_vector<double>();
  const std::vector<std::int64_t> t = targets.to_vector<std::int64_t>();
  double expected = 0;
  for (std::int64_t i = 0; i < rows; ++i) expected -= log_p[i * classes + t[i]];
  expected /= rows;
  EXPECT_NEAR(cross_entropy(logits, targets).item<double>(), expected, 1e-10);
  EXPECT_NEAR(cross_entropy(to_dtype(logits, DType::f32), targets).item<float>(), expected, 1e-4);
}

TEST(CrossEntropy, Gradcheck) {
  manual_seed(12);
  const Tensor logits = randn({4, 5}, {DType::f64}).requires_grad_();
  const Tensor targets = from_vector<std::int64_t>({3, -100, 0, 4});
  for (Reduction reduction : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    for (double smoothing : {0.0, 0.25}) {
      const CrossEntropyOptions options{.label_smoothing = smoothing, .reduction = reduction};
      expect_gradcheck([&](const std::vector<Tensor>& in) { return cross_entropy(in[0], targets, options); }, {logits});
    }
  }
  // Non-contiguous logits: the transpose of a [C, N] leaf.
  const Tensor logits_t = randn({5, 4}, {DType::f64}).requires_grad_();
  expect_gradcheck(
      [&](const std::vector<Tensor>& in) {
        return cross_entropy(transpose(in[0], 0, 1), targets, {.label_smoothing = 0.1});
      },
      {logits_t});
}

TEST(CrossEntropy, Errors) {
  const Tensor logits = zeros({2, 3});
  expect_error(
      [&] {
        cross_entropy(logits, from_vector<std::int64_t>({0, 3}));
      },
      {"cross_entropy", "target 3 at row 1", "[0, 3)"});
  expect_error(
      [&] {
        cross_entropy(logits, from_vector<std::int64_t>({-1, 0}));
      },
      {"cross_entropy", "target -1 at row 0"});
  expect_error([&] { cross_entropy(logits, from_vector<float>({0, 1})); }, {"cross_entropy", "f32", "[2]"});
  expect_error(
      [&] {
        cross_entropy(logits, from_vector<std::int64_t>({0, 1, 2}));
      },
      {"cross_entropy", "[3]", "[2, 3]"});
  expect_error(
      [&] {
        cross_entropy(zeros({2, 3, 4}), from_vector<std::int64_t>({0, 1}));
      },
      {"cross_entropy", "[2, 3, 4]"});
  expect_error(
      [&] {
        cross_entropy(logits, from_vector<std::int64_t>({0, 1}), {.label_smoothing = 1.5});
      },
      {"cross_entropy", "label_smoothing", "1.5"});
  expect_error(
      [&] {
        cross_entropy(zeros({2, 3}, {DType::i64}), from_vector<std::int64_t>({0, 1}));
      },
      {"cross_entropy", "i64"});
}

TEST(BinaryCrossEntropy, ValuesByHand) {
  // x = 0: log 2 whatever t. x = 2, t = 1: log(1 + e^-2) = 0.126928.
  // x = -1000, t = 0: 0 (stable). x = 1000, t = 0: 1000.
  const Tensor x = from_vector<double>({0, 2, -1000, 1000});
  const Tensor t = from_vector<double>({0.3, 1, 0, 0});
  expect_all_near(binary_cross_entropy_with_logits(x, t, Reduction::None).to_vector<double>(),
                  {std::log(2.0), std::log1p(std::exp(-2.0)), 0, 1000}, 1e-12);
  EXPECT_NEAR(binary_cross_entropy_with_logits(x, t, Reduction::Sum).item<double>(),
              std::log(2.0) + std::log1p(std::exp(-2.0)) + 1000, 1e-9);
  EXPECT_NEAR(binary_cross_entropy_with_logits(x, t).item<double>(),
              (std::log(2.0) + std::log1p(std::exp(-2.0)) + 1000) / 4, 1e-9);
  // d/dx = sigmoid(x) - t.
  const Tensor w = from_vector<double>({0, 2}).requires_grad_();
  binary_cross_entropy_with_logits(w, from_vector<double>({0.3, 1}), Reduction::Sum).backward();
  expect_all_near(w.grad().to_vector<double>(), {0.2, 1 / (1 + std::exp(-2.0)) - 1}, 1e-12);
}

TEST(BinaryCrossEntropy, Gradcheck) {
  manual_seed(13);
  const Tensor x = mul(randn({3, 4}, {DType::f64}), 3.0).requires_grad_();
  const Tensor target = rand({3, 4}, 0.0, 1.0, {DType::f64}).requires_grad_();
  for (Reduction reduction : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    expect_gradcheck(
        [reduction](const std::vector<Tensor>& in) {
          return binary_cross_entropy_with_logits(in[0], in[1], reduction);
        },
        {x, target});
  }
  expect_gradcheck([](const std::vector<Tensor>& in) { return binary_cross_entropy_with_logits(t(in[0]), t(in[1])); },
                   {x, target});
}

TEST(BinaryCrossEntropy, Errors) {
  expect_error(
      [] {
        binary_cross_entropy_with_logits(zeros({2, 3}), zeros({3}));
      },
      {"binary_cross_entropy_with_logits", "[3]", "[2, 3]"});
  expect_error([] { binary_cross_entropy_with_logits(zeros({2}), zeros({2}, {DType::i64})); },
               {"binary_cross_entropy_with_logits", "f32", "i64"});
}

TEST(MseLoss, ValuesGradientsAndErrors) {
  const Tensor a = from_vector<double>({1, 2, 4}).requires_grad_();
  const Tensor b = from_vector<double>({0, 2, 2});
  // Squares 1, 0, 4: mean 5/3, sum 5.
  EXPECT_NEAR(mse_loss(a, b).item<double>(), 5.0 / 3, 1e-12);
  EXPECT_EQ(mse_loss(a, b, Reduction::Sum).item<double>(), 5.0);
  EXPECT_EQ(mse_loss(a, b, Reduction::None).to_vector<double>(), (std::vector<double>{1, 0, 4}));
  mse_loss(a, b).backward();
  expect_all_near(a.grad().to_vector<double>(), {2.0 / 3, 0, 4.0 / 3}, 1e-12);
  manual_seed(14);
  const Tensor x = randn({3, 4}, {DType::f64}).requires_grad_();
  const Tensor y = randn({4}, {DType::f64}).requires_grad_();
  for (Reduction reduction : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    expect_gradcheck([reduction](const std::vector<Tensor>& in) { return mse_loss(in[0], in[1], reduction); }, {x, y});
  }
  expect_error([] { mse_loss(zeros({2}), zeros({3})); }, {"mse_loss", "[2]", "[3]"});
  expect_error([] { mse_loss(zeros({2}), zeros({2}, {DType::f64})); }, {"mse_loss", "f32", "f64"});
}
