#include <gtest/gtest.h>

#include <string>

#include "recgrad.h"

using namespace recgrad;

namespace {

Tensor randn64(const Shape& shape) { return randn(shape, {DType::f64}); }

// Reference product by broadcasting and summing: (a[..., n, k, 1] * b[..., 1, k, m]).sum(-2).
Tensor reference_matmul(const Tensor& a, const Tensor& b) {
  NoGradGuard no_grad;
  const Tensor a2 = a.dim() == 1 ? unsqueeze(a, 0) : a;
  const Tensor b2 = b.dim() == 1 ? unsqueeze(b, 1) : b;
  Tensor out = sum(unsqueeze(a2, -1) * unsqueeze(b2, -3), {-2});
  if (a.dim() == 1) out = squeeze(out, -2);
  if (b.dim() == 1) out = squeeze(out, -1);
  return out;
}

void expect_close(const Tensor& actual, const Tensor& expected, double tol) {
  ASSERT_EQ(actual.shape(), expected.shape());
  const std::vector<double> x = actual.to_vector<double>(), y = expected.to_vector<double>();
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(x[i], y[i], tol) << "element " << i;
}

void expect_gradcheck_matmul(Tensor a, Tensor b) {
  a.requires_grad_();
  b.requires_grad_();
  const GradcheckResult result = gradcheck([](const std::vector<Tensor>& x) { return matmul(x[0], x[1]); }, {a, b});
  EXPECT_TRUE(result.ok) << shape_str(a.shape()) << " @ " << shape_str(b.shape()) << ": " << result.report;
}

struct ShapePair {
  Shape a, b, out;
};

const std::vector<ShapePair> kShapes = {
    {{3}, {3}, {}},                           // dot
    {{2, 3}, {3, 4}, {2, 4}},                 // mm
    {{3}, {3, 4}, {4}},                       // vector @ matrix
    {{2, 3}, {3}, {2}},                       // matrix @ vector
    {{2, 5, 3}, {3, 4}, {2, 5, 4}},           // batch folded into rows
    {{2, 1, 4, 3}, {5, 3, 2}, {2, 5, 4, 2}},  // broadcast batch dims
    {{3, 4}, {2, 4, 5}, {2, 3, 5}},           // 2-D @ batched
    {{4}, {2, 4, 3}, {2, 3}},                 // vector @ batched
    {{2, 3, 4}, {4}, {2, 3}},                 // batched @ vector
};

}  // namespace

TEST(Matmul, ForwardMatchesReferenceForAllShapeKinds) {
  manual_seed(1);
  for (const ShapePair& s : kShapes) {
    SCOPED_TRACE(shape_str(s.a) + " @ " + shape_str(s.b));
    const Tensor a = randn64(s.a), b = randn64(s.b);
    const Tensor out = matmul(a, b);
    EXPECT_EQ(out.shape(), s.out) << shape_str(s.a) << " @ " << shape_str(s.b);
    expect_close(out, reference_matmul(a, b), 1e-12);
  }
}

TEST(Matmul, DotMatchesLoop) {
  const Tensor a = from_vector<float>({1, 2, 3}), b = from_vector<float>({4, -5, 6});
  EXPECT_FLOAT_EQ(matmul(a, b).item<float>(), 1 * 4 - 2 * 5 + 3 * 6);
}

TEST(Matmul, F32MatchesNaiveLoops) {
  manual_seed(2);
  const std::int64_t n = 7, k = 13, m = 5;
  const Tensor a = randn({n, k}), b = randn({k, m});
  const std::vector<float> av = a.to_vector<float>(), bv = b.to_vector<float>();
  const std::vector<float> c = matmul(a, b).to_vector<float>();
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < m; ++j) {
      double acc = 0;
      for (std::int64_t p = 0; p < k; ++p) acc += av[i * k + p] * bv[p * m + j];
      EXPECT_NEAR(c[i * m + j], acc, 1e-4);
    }
  }
}

TEST(Matmul, TransposedAndStridedOperands) {
  manual_seed(3);
  const Tensor a = transpose(randn64({3, 2}), 0, 1);         // [2, 3], column-major
  const Tensor b = transpose(randn64({4, 3}), 0, 1);         // [3, 4], column-major
  const Tensor ab = transpose(randn64({2, 3, 5}), 1, 2);     // [2, 5, 3]
  const Tensor bb = transpose(randn64({2, 4, 3}), 1, 2);     // [2, 3, 4]
  const Tensor sliced = slice(randn64({2, 8}), 1, 0, 8, 2);  // [2, 4], column stride 2 (copied)
  expect_close(matmul(a, b), reference_matmul(a, b), 1e-12);
  expect_close(matmul(ab, bb), reference_matmul(ab, bb), 1e-12);
  expect_close(matmul(ab, b), reference_matmul(ab, b), 1e-12);  // transposed batch cannot fold
  expect_close(matmul(sliced, transpose(b, 0, 1)), reference_matmul(sliced, transpose(b, 0, 1)), 1e-12);
  EXPECT_TRUE(matmul(a, b).is_contiguous());
}

TEST(Matmul, ExpandedBatchOperand) {
  manual_seed(4);
  const Tensor a = expand(randn64({1, 3, 2}), {4, 3, 2});  // batch stride 0
  const Tensor b = randn64({4, 2, 5});
  expect_close(matmul(a, b), reference_matmul(a, b), 1e-12);
  expect_close(matmul(b.dim() ? transpose(b, 1, 2) : b, transpose(a, 1, 2)),
               reference_matmul(transpose(b, 1, 2), transpose(a, 1, 2)), 1e-12);
}

TEST(Matmul, ManySmallBatchesInParallel) {
  manual_seed(5);
  const Tensor a = randn64({600, 4, 8}), b = randn64({600, 8, 3});
  expect_close(matmul(a, b), reference_matmul(a, b), 1e-12);
}

TEST(Matmul, LargeF32ProductsMatchF64) {
  manual_seed(15);
  // Folded batch (one big GEMM), a batch of GEMMs above the small-GEMM size
  // (serial loop, threaded BLAS) and a transposed large operand.
  const std::vector<std::pair<Tensor, Tensor>> cases = {
      {randn64({4, 100, 64}), randn64({64, 48})},
      {randn64({3, 70, 64}), randn64({3, 64, 80})},
      {transpose(randn64({3, 64, 70}), 1, 2), transpose(randn64({80, 64}), 0, 1)},
  };
  for (const auto& [a, b] : cases) {
    const Tensor expected = matmul(a, b);
    const Tensor actual = matmul(to_dtype(a, DType::f32), to_dtype(b, DType::f32));
    expect_close(actual, expected, 1e-3);
    expect_close(expected, reference_matmul(a, b), 1e-10);
  }
}

TEST(Matmul, EmptyInnerDimensionGivesZeros) {
  const Tensor out = matmul(zeros({2, 0}), zeros({0, 3}));
  EXPECT_EQ(out.shape(), (Shape{2, 3}));
  EXPECT_EQ(out.to_vector<float>(), std::vector<float>(6, 0.0f));
}

TEST(Matmul, GradcheckAllShapeKinds) {
  manual_seed(6);
  for (const ShapePair& s : kShapes) expect_gradcheck_matmul(randn64(s.a), randn64(s.b));
}

TEST(Matmul, GradcheckTransposedOperands) {
  manual_seed(7);
  expect_gradcheck_matmul(transpose(randn64({3, 2}), 0, 1), transpose(randn64({4, 3}), 0, 1));
  expect_gradcheck_matmul(transpose(randn64({2, 3, 5}), 1, 2), transpose(randn64({4, 3}), 0, 1));
  expect_gradcheck_matmul(transpose(randn64({2, 3, 5}), 1, 2), transpose(randn64({2, 4, 3}), 1, 2));
}

TEST(Matmul, GradOnlyForOneOperand) {
  manual_seed(8);
  const Tensor a = randn64({2, 3}).requires_grad_();
  const Tensor b = randn64({3, 4});
  sum(matmul(a, b)).backward();
  // d/da sum(a b) = 1 b^T: every row of the gradient is the row sums of b.
  const Tensor expected = expand(unsqueeze(sum(b, {1}), 0), {2, 3});
  expect_close(a.grad(), expected, 1e-12);
  EXPECT_FALSE(b.grad().defined());
}

TEST(Matmul, ErrorsNameShapesAndDtypes) {
  try {
    matmul(zeros({2, 3}), zeros({4, 5}));
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("matmul"), std::string::npos) << message;
    EXPECT_NE(message.find("[2, 3]"), std::string::npos) << message;
    EXPECT_NE(message.find("[4, 5]"), std::string::npos) << message;
  }
  EXPECT_THROW(matmul(zeros({2, 3, 4}), zeros({3, 4, 5})), Error);  // batch 2 vs 3
  EXPECT_THROW(matmul(scalar_tensor(1.0), zeros({3})), Error);      // 0-d operand
  try {
    matmul(zeros({2, 2}, {DType::i64}), zeros({2, 2}, {DType::i64}));
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("i64"), std::string::npos) << e.what();
  }
  try {
    matmul(zeros({2, 2}), zeros({2, 2}, {DType::f64}));
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("f64"), std::string::npos) << e.what();
  }
}

// ---- linear ----

namespace {
// y[r, o] = sum_i x[r, i] w[o, i] + b[o], by loops over the flattened rows.
std::vector<double> naive_linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  const std::int64_t in = w.size(1), out = w.size(0), rows = x.numel() / in;
  const std::vector<double> xv = x.to_vector<double>(), wv = w.to_vector<double>();
  const std::vector<double> bv = b.defined() ? b.to_vector<double>() : std::vector<double>(out, 0.0);
  std::vector<double> y(rows * out);
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t o = 0; o < out; ++o) {
      double acc = bv[o];
      for (std::int64_t i = 0; i < in; ++i) acc += xv[r * in + i] * wv[o * in + i];
      y[r * out + o] = acc;
    }
  return y;
}
}  // namespace

TEST(Linear, ForwardMatchesLoopsWithAndWithoutBias) {
  manual_seed(9);
  const Tensor x = randn({2, 3, 5}), w = randn({4, 5}), b = randn({4});
  for (const Tensor& bias : {b, Tensor()}) {
    const Tensor y = linear(x, w, bias);
    EXPECT_EQ(y.shape(), (Shape{2, 3, 4}));
    const std::vector<double> expected = naive_linear(x, w, bias);
    const std::vector<float> actual = y.to_vector<float>();
    for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(actual[i], expected[i], 1e-5);
  }
}

TEST(Linear, NonContiguousInputAndWeight) {
  manual_seed(10);
  const Tensor x = transpose(randn64({3, 2, 5}), 0, 1);  // [2, 3, 5], not dense
  const Tensor w = transpose(randn64({5, 4}), 0, 1);     // [4, 5], column-major
  const Tensor b = randn64({4});
  expect_close(linear(x, w, b), reference_matmul(x, transpose(w, 0, 1)) + b, 1e-12);
}

TEST(Linear, GradcheckWithBiasOn3DInput) {
  manual_seed(11);
  const Tensor x = randn64({2, 3, 5}).requires_grad_();
  const Tensor w = randn64({4, 5}).requires_grad_();
  const Tensor b = randn64({4}).requires_grad_();
  const GradcheckResult result =
      gradcheck([](const std::vector<Tensor>& v) { return linear(v[0], v[1], v[2]); }, {x, w, b});
  EXPECT_TRUE(result.ok) << result.report;
}

TEST(Linear, GradcheckWithoutBiasOnTransposed3DInput) {
  manual_seed(12);
  const Tensor x = transpose(randn64({3, 2, 5}), 0, 1).requires_grad_();
  const Tensor w = randn64({4, 5}).requires_grad_();
  const GradcheckResult result = gradcheck([](const std::vector<Tensor>& v) { return linear(v[0], v[1]); }, {x, w});
  EXPECT_TRUE(result.ok) << result.report;
}

TEST(Linear, BiasGradientIsColumnSumOfOutputGradient) {
  manual_seed(13);
  const Tensor x = randn64({6, 3}), w = randn64({2, 3});
  const Tensor b = randn64({2}).requires_grad_();
  const Tensor g = randn64({6, 2});
  linear(x, w, b).backward(g);
  expect_close(b.grad(), sum(g, {0}), 1e-12);
}

TEST(Linear, BroadcastScalarLossGradient) {
  // sum() hands backward an expanded (stride 0) gradient; it must be read correctly.
  manual_seed(14);
  const Tensor x = randn64({2, 3, 5}).requires_grad_();
  const Tensor w = randn64({4, 5}).requires_grad_();
  const Tensor b = randn64({4}).requires_grad_();
  sum(linear(x, w, b)).backward();
  expect_close(b.grad(), full({4}, 6.0, {DType::f64}), 1e-12);
  // dW[o, i] = sum over rows of x[r, i]; dx[r, i] = sum over o of W[o, i].
  expect_close(w.grad(), expand(unsqueeze(sum(x, {0, 1}), 0), {4, 5}), 1e-12);
  expect_close(x.grad(), expand(sum(w, {0}), {2, 3, 5}), 1e-12);
}

TEST(Linear, Errors) {
  try {
    linear(zeros({2, 3}), zeros({4, 5}));
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("linear"), std::string::npos) << message;
    EXPECT_NE(message.find("[2, 3]"), std::string::npos) << message;
    EXPECT_NE(message.find("[4, 5]"), std::string::npos) << message;
  }
  EXPECT_THROW(linear(zeros({2, 3}), zeros({4, 3}), zeros({5})), Error);
  EXPECT_THROW(linear(zeros({2, 3}), zeros({4, 3}), zeros({4}, {DType::f64})), Error);
  EXPECT_THROW(linear(zeros({2, 3}, {DType::i32}), zeros({4, 3}, {DType::i32})), Error);
}
