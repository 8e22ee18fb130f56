// softmax / log_softmax: values, stability, gradients along every dim.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "recgrad.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::testing;

TEST(Softmax, ValuesByHand) {
  // softmax([0, ln 2, ln 5]) = [1, 2, 5] / 8.
  const Tensor x = from_vector<float>({0.0f, std::log(2.0f), std::log(5.0f)}, {1, 3});
  const std::vector<float> y = softmax(x, 1).to_vector<float>();
  EXPECT_NEAR(y[0], 0.125f, 1e-6);
  EXPECT_NEAR(y[1], 0.25f, 1e-6);
  EXPECT_NEAR(y[2], 0.625f, 1e-6);
  const std::vector<float> log_y = log_softmax(x, -1).to_vector<float>();
  EXPECT_NEAR(log_y[0], std::log(0.125f), 1e-6);
  EXPECT_NEAR(log_y[2], std::log(0.625f), 1e-6);
}

TEST(Softmax, StableForLargeLogits) {
  const Tensor x = from_vector<float>({1000, 0, -1000, -1000}, {2, 2});
  const std::vector<float> y = softmax(x, 1).to_vector<float>();
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[2], 0.5f);
  EXPECT_EQ(y[3], 0.5f);
  const std::vector<float> log_y = log_softmax(x, 1).to_vector<float>();
  EXPECT_EQ(log_y[0], 0.0f);
  EXPECT_EQ(log_y[1], -1000.0f);
  EXPECT_NEAR(log_y[2], -std::log(2.0f), 1e-6);
  // A masked (-inf) logit gets probability exactly 0.
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(softmax(from_vector<float>({0, -inf}), 0).to_vector<float>(), (std::vector<float>{1, 0}));
}

TEST(Softmax, LongRowsMatchDouble) {
  // Rows longer than one block (1024) and non-multiples of the vector width,
  // enough of them to run on several threads.
  manual_seed(7);
  const Tensor x64 = mul(randn({16, 5003}, {DType::f64}), 4.0);
  const Tensor x32 = to_dtype(x64, DType::f32);
  const std::vector<double> expected = softmax(x64, 1).to_vector<double>();
  const std::vector<float> actual = softmax(x32, 1).to_vector<float>();
  const std::vector<double> expected_log = log_softmax(x64, 1).to_vector<double>();
  const std::vector<float> actual_log = log_softmax(x32, 1).to_vector<float>();
  for (std::size_t i = 0; i < expected.size(); ++i) {
    ASSERT_NEAR(actual[i], expected[i], 1e-6 + 1e-5 * expected[i]) << i;
    ASSERT_NEAR(actual_log[i], expected_log[i], 1e-4) << i;
  }
}

TEST(Softmax, RowsSumToOneAlongAnyDim) {
  manual_seed(8);
  const Tensor x = randn({2, 3, 4});
  for (std::int64_t dim : {0, 1, 2}) {
    const std::vector<float> totals = sum(softmax(x, dim), {dim}).to_vector<float>();
    for (float t : totals) EXPECT_NEAR(t, 1.0f, 1e-6);
    // exp(log_softmax) is the softmax.
    const std::vector<float> probabilities = softmax(x, dim).to_vector<float>();
    const std::vector<float> logs = log_softmax(x, dim).to_vector<float>();
    for (std::size_t i = 0; i < logs.size(); ++i) EXPECT_NEAR(std::exp(logs[i]), probabilities[i], 1e-6);
  }
}

TEST(Softmax, Gradcheck) {
  manual_seed(9);
  const Tensor x = randn({3, 4, 5}, {DType::f64}).requires_grad_();
  for (std::int64_t dim : {0, 1, 2, -1}) {
    expect_gradcheck([dim](const std::vector<Tensor>& in) { return softmax(in[0], dim); }, {x});
    expect_gradcheck([dim](const std::vector<Tensor>& in) { return log_softmax(in[0], dim); }, {x});
  }
  expect_gradcheck([](const std::vector<Tensor>& in) { return softmax(transpose(in[0], 0, 2), -1); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& in) { return log_softmax(transpose(in[0], 1, 2), 1); }, {x});
}

TEST(Softmax, Errors) {
  const Tensor x = zeros({2, 3});
  try {
    softmax(x, 2);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("softmax: dimension 2"), std::string::npos) << e.what();
  }
  try {
    log_softmax(zeros({3}, {DType::i64}), 0);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("log_softmax"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("i64"), std::string::npos) << e.what();
  }
}
