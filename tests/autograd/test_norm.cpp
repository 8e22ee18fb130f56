#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "recgrad.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::testing;

namespace {

Tensor randn64(const Shape& shape) { return randn(shape, {DType::f64}); }

// Naive normalization of the rows of a dense [rows, n] view of x (centered:
// layer_norm with biased variance, otherwise rms_norm), then * w + b.
std::vector<double> naive_norm(const Tensor& x, std::int64_t n, const Tensor& w, const Tensor& b, double eps,
                               bool centered) {
  const std::vector<double> xv = x.to_vector<double>();
  const std::vector<double> wv = w.defined() ? w.to_vector<double>() : std::vector<double>(n, 1.0);
  const std::vector<double> bv = b.defined() ? b.to_vector<double>() : std::vector<double>(n, 0.0);
  std::vector<double> y(xv.size());
  for (std::size_t r = 0; r < xv.size() / n; ++r) {
    double mean = 0, sq = 0;
    for (std::int64_t i = 0; i < n; ++i) mean += xv[r * n + i] / n;
    if (!centered) mean = 0;
    for (std::int64_t i = 0; i < n; ++i) sq += (xv[r * n + i] - mean) * (xv[r * n + i] - mean) / n;
    for (std::int64_t i = 0; i < n; ++i) y[r * n + i] = (xv[r * n + i] - mean) / std::sqrt(sq + eps) * wv[i] + bv[i];
  }
  return y;
}

void expect_close(const Tensor& actual, const std::vector<double>& expected, double tol) {
  const std::vector<double> v = actual.to_vector<double>();
  ASSERT_EQ(v.size(), expected.size());
  for (std::size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(v[i], expected[i], tol) << "element " << i;
}

}  // namespace

TEST(LayerNorm, ForwardMatchesLoops) {
  manual_seed(1);
  const Tensor x = randn64({2, 3, 4}) * 3.0 + 1.0;
  const Tensor w = randn64({4}), b = randn64({4});
  expect_close(layer_norm(x, {4}, w, b), naive_norm(x, 4, w, b, 1e-5, true), 1e-12);
  expect_close(layer_norm(x, {4}), naive_norm(x, 4, Tensor(), Tensor(), 1e-5, true), 1e-12);
  const Tensor w2 = randn64({3, 4}), b2 = randn64({3, 4});
  expect_close(layer_norm(x, {3, 4}, w2, b2, 0.1), naive_norm(x, 12, w2, b2, 0.1, true), 1e-12);
  // A transposed (non-dense) input is normalized along its own last dim.
  const Tensor xt = transpose(randn64({4, 3}), 0, 1);
  expect_close(layer_norm(xt, {4}, w, Tensor()), naive_norm(contiguous(xt), 4, w, Tensor(), 1e-5, true), 1e-12);
}

TEST(LayerNorm, F32ParallelRowsMatchF64) {
  manual_seed(2);
  const Tensor x64 = randn64({1000, 64}) * 2.0 + 5.0;
  const Tensor w64 = randn64({64}), b64 = randn64({64});
  const Tensor y32 = layer_norm(to_dtype(x64, DType::f32), {64}, to_dtype(w64, DType::f32), to_dtype(b64, DType::f32));
  expect_close(y32, naive_norm(x64, 64, w64, b64, 1e-5, true), 2e-4);
}

TEST(LayerNorm, GradcheckWithWeightAndBias) {
  manual_seed(3);
  expect_gradcheck_all([](const std::vector<Tensor>& v) { return layer_norm(v[0], {4}, v[1], v[2]); },
                       {randn64({2, 3, 4}), randn64({4}), randn64({4})});
  expect_gradcheck_all(
      [](const std::vector<Tensor>& v) {
        return layer_norm(v[0], {2, 3}, v[1], v[2], 1e-3);
      },
      {randn64({4, 2, 3}), randn64({2, 3}), randn64({2, 3})});
}

TEST(LayerNorm, GradcheckWithoutWeightOrBiasAndNonContiguousInput) {
  manual_seed(4);
  expect_gradcheck_all([](const std::vector<Tensor>& v) { return layer_norm(v[0], {5}); }, {randn64({3, 5})});
  expect_gradcheck_all([](const std::vector<Tensor>& v) { return layer_norm(v[0], {3}, v[1]); },
                       {transpose(randn64({3, 4}), 0, 1), randn64({3})});
  expect_gradcheck_all([](const std::vector<Tensor>& v) { return layer_norm(v[0], {3}, Tensor(), v[1]); },
                       {transpose(randn64({2, 3, 4}), 1, 2), randn64({3})});
  expect_gradcheck_all(
      [](const std::vector<Tensor>& v) {
        return layer_norm(v[0], {2, 3}, Tensor(), v[1]);
      },
      {transpose(randn64({4, 3, 2}), 1, 2), randn64({2, 3})});
}

TEST(LayerNorm, ParameterGradientsAreRowSums) {
  manual_seed(5);
  // 150 rows span several blocks of the fused backward's partial sums.
  const Tensor x = randn64({150, 4});
  const Tensor w = randn64({4}).requires_grad_(), b = randn64({4}).requires_grad_();
  const Tensor g = randn64({150, 4});
  layer_norm(x, {4}, w, b).backward(g);
  const Tensor xhat = layer_norm(x, {4});
  const std::vector<double> expected_w = sum(g * xhat, {0}).to_vector<double>();
  expect_close(w.grad(), expected_w, 1e-12);
  expect_close(b.grad(), sum(g, {0}).to_vector<double>(), 1e-12);
  EXPECT_FALSE(x.grad().defined());
}

TEST(LayerNorm, Errors) {
  expect_error([] { layer_norm(zeros({2, 3}), {4}); }, {"layer_norm", "[4]", "[2, 3]"});
  expect_error([] { layer_norm(zeros({2, 3}), {3}, zeros({4})); }, {"layer_norm", "weight", "[4]"});
  expect_error(
      [] {
        layer_norm(zeros({2, 3}), {3}, zeros({3}), zeros({3}, {DType::f64}));
      },
      {"layer_norm", "bias", "f64"});
  expect_error([] { layer_norm(zeros({2, 3}, {DType::i64}), {3}); }, {"layer_norm", "i64"});
  EXPECT_THROW(layer_norm(zeros({2, 3}), {}), Error);
  EXPECT_THROW(layer_norm(zeros({3}), {2, 3}), Error);
}

TEST(RmsNorm, ForwardMatchesLoops) {
  manual_seed(6);
  const Tensor x = randn64({3, 5}) + 2.0;
  const Tensor w = randn64({5});
  expect_close(rms_norm(x, {5}, w), naive_norm(x, 5, w, Tensor(), 1e-6, false), 1e-12);
  expect_close(rms_norm(x, {3, 5}), naive_norm(x, 15, Tensor(), Tensor(), 1e-6, false), 1e-12);
  const Tensor x32 = randn({500, 128});
  expect_close(rms_norm(x32, {128}), naive_norm(x32, 128, Tensor(), Tensor(), 1e-6, false), 1e-5);
}

TEST(RmsNorm, Gradcheck) {
  manual_seed(7);
  expect_gradcheck_all([](const std::vector<Tensor>& v) { return rms_norm(v[0], {4}, v[1]); },
                       {randn64({2, 3, 4}), randn64({4})});
  expect_gradcheck_all([](const std::vector<Tensor>& v) { return rms_norm(v[0], {2, 3}); }, {randn64({3, 2, 3})});
  expect_gradcheck_all([](const std::vector<Tensor>& v) { return rms_norm(v[0], {3}, v[1], 1e-2); },
                       {transpose(randn64({3, 4}), 0, 1), randn64({3})});
}

TEST(RmsNorm, GradientsOverManyRowsMatchComposedOps) {
  manual_seed(8);
  const Tensor x = randn64({3, 70, 8}).requires_grad_(), w = randn64({8}).requires_grad_();
  const Tensor g = randn64({3, 70, 8});
  rms_norm(x, {8}, w, 1e-6).backward(g);
  // The same function from elementwise ops: x / sqrt(mean(x * x) + eps) * w.
  const Tensor x2 = x.detach().requires_grad_(), w2 = w.detach().requires_grad_();
  const Tensor ms = mean(x2 * x2, {-1}, true) + 1e-6;
  (x2 / sqrt(ms) * w2).backward(g);
  expect_close(x.grad(), x2.grad().to_vector<double>(), 1e-10);
  expect_close(w.grad(), w2.grad().to_vector<double>(), 1e-10);
}

TEST(RmsNorm, Errors) {
  expect_error([] { rms_norm(zeros({2, 3}), {2}); }, {"rms_norm", "[2]", "[2, 3]"});
  expect_error([] { rms_norm(zeros({2, 3}), {3}, zeros({2, 3})); }, {"rms_norm", "weight", "[2, 3]"});
  expect_error([] { rms_norm(zeros({2, 3}, {DType::i32}), {3}); }, {"rms_norm", "i32"});
}
