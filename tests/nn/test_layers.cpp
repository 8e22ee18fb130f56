// Layers: PyTorch layouts and initialisation, forward against the functional
// ops, gradchecks in f64 (after Module::to_dtype), Embedding's padding row,
// Dropout's modes, and a Sequential MLP.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "nn/activation.h"
#include "nn/dropout.h"
#include "nn/embedding.h"
#include "nn/init.h"
#include "nn/layer_norm.h"
#include "nn/linear.h"
#include "nn/rms_norm.h"
#include "nn/sequential.h"
#include "nn_test_util.h"
#include "recgrad.h"

using namespace recgrad;
using namespace recgrad::nn;
using namespace recgrad::nn::testing;

namespace {

double max_abs(const Tensor& t) {
  double m = 0.0;
  for (double v : t.to_vector<double>()) m = std::max(m, std::abs(v));
  return m;
}

double mean_of(const Tensor& t) {
  double s = 0.0;
  for (double v : t.to_vector<double>()) s += v;
  return s / static_cast<double>(t.numel());
}

double variance_of(const Tensor& t) {
  const double m = mean_of(t);
  double s = 0.0;
  for (double v : t.to_vector<double>()) s += (v - m) * (v - m);
  return s / static_cast<double>(t.numel());
}

// All leaves of `module` that gradcheck should perturb, after `inputs`.
std::vector<Tensor> with_parameters(std::vector<Tensor> inputs, const Module& module) {
  for (const Tensor& p : module.parameters()) inputs.push_back(p);
  return inputs;
}

}  // namespace

// ---- Linear ----

TEST(Linear, PyTorchLayoutAndInitialisation) {
  manual_seed(1);
  Linear layer(400, 300);
  EXPECT_EQ(layer.weight.shape(), (Shape{300, 400}));
  EXPECT_EQ(layer.bias.shape(), (Shape{300}));
  EXPECT_EQ(names_of(layer.named_parameters()), (std::vector<std::string>{"weight", "bias"}));
  const double bound = 1.0 / std::sqrt(400.0);  // kaiming_uniform_(a = sqrt(5))
  EXPECT_LE(max_abs(layer.weight), bound);
  EXPECT_GT(max_abs(layer.weight), 0.99 * bound);
  EXPECT_NEAR(mean_of(layer.weight), 0.0, 0.002);
  EXPECT_NEAR(variance_of(layer.weight), bound * bound / 3.0, 0.03 * bound * bound / 3.0);
  EXPECT_LE(max_abs(layer.bias), bound);
  EXPECT_GT(max_abs(layer.bias), 0.9 * bound);
  EXPECT_NEAR(mean_of(layer.bias), 0.0, 0.01);
}

TEST(Linear, SeedGivesIdenticalWeights) {
  manual_seed(5);
  Linear a(7, 3);
  manual_seed(5);
  Linear b(7, 3);
  EXPECT_TRUE(bit_equal(a.weight, b.weight));
  EXPECT_TRUE(bit_equal(a.bias, b.bias));
  Linear c(7, 3);
  EXPECT_FALSE(bit_equal(a.weight, c.weight));
}

TEST(Linear, ForwardIsXWTransposedPlusBias) {
  manual_seed(2);
  Linear layer(4, 3);
  Tensor x = randn({2, 5, 4});
  Tensor y = layer(x);
  EXPECT_EQ(y.shape(), (Shape{2, 5, 3}));
  const std::vector<float> expected = (matmul(x, t(layer.weight)) + layer.bias).to_vector<float>();
  const std::vector<float> actual = y.to_vector<float>();
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(actual[i], expected[i], 1e-5);

  Linear no_bias(4, 3, /*bias=*/false);
  EXPECT_FALSE(no_bias.bias.defined());
  EXPECT_EQ(names_of(no_bias.named_parameters()), std::vector<std::string>{"weight"});
  const std::vector<float> plain = matmul(x, t(no_bias.weight)).to_vector<float>();
  const std::vector<float> got = no_bias(x).to_vector<float>();
  for (std::size_t i = 0; i < plain.size(); ++i) EXPECT_NEAR(got[i], plain[i], 1e-5);
}

TEST(Linear, Gradcheck) {
  manual_seed(3);
  Linear layer(4, 3);
  layer.to_dtype(DType::f64);
  Tensor x = randn({2, 3, 4}, {DType::f64}).requires_grad_();
  auto result = gradcheck([&](const std::vector<Tensor>& in) { return layer(in[0]); }, with_parameters({x}, layer));
  EXPECT_TRUE(result.ok) << result.report;
  // A transposed (non-contiguous) input, without bias.
  Linear no_bias(3, 2, false);
  no_bias.to_dtype(DType::f64);
  Tensor xt = transpose(randn({3, 5}, {DType::f64}), 0, 1).requires_grad_();
  result = gradcheck([&](const std::vector<Tensor>& in) { return no_bias(in[0]); }, with_parameters({xt}, no_bias));
  EXPECT_TRUE(result.ok) << result.report;
}

TEST(Linear, Errors) {
  EXPECT_NE(message_of([] { Linear(0, 3); }).find("Linear"), std::string::npos);
  Linear layer(4, 3);
  EXPECT_THROW(layer(zeros({2, 5})), Error);
  EXPECT_THROW(layer(zeros({2, 4}, {DType::f64})), Error);
}

// ---- Embedding ----

TEST(Embedding, StandardNormalInitAndZeroPaddingRow) {
  manual_seed(4);
  Embedding table(1000, 64, /*padding_idx=*/0);
  EXPECT_EQ(table.weight.shape(), (Shape{1000, 64}));
  EXPECT_EQ(max_abs(select(table.weight, 0, 0)), 0.0);
  Tensor rest = narrow(table.weight, 0, 1, 999);
  EXPECT_NEAR(mean_of(rest), 0.0, 0.02);
  EXPECT_NEAR(std::sqrt(variance_of(rest)), 1.0, 0.02);
  Embedding no_padding(10, 4);
  EXPECT_GT(max_abs(select(no_padding.weight, 0, 0)), 0.0);
}

TEST(Embedding, ForwardGathersRows) {
  manual_seed(5);
  Embedding table(6, 3);
  Tensor idx = from_vector<std::int64_t>({5, 0, 2, 2}, {2, 2});
  Tensor out = table(idx);
  EXPECT_EQ(out.shape(), (Shape{2, 2, 3}));
  const std::vector<float> w = table.weight.to_vector<float>();
  const std::vector<float> o = out.to_vector<float>();
  const std::int64_t rows[4] = {5, 0, 2, 2};
  for (int i = 0; i < 4; ++i) {
    for (int d = 0; d < 3; ++d) EXPECT_EQ(o[i * 3 + d], w[rows[i] * 3 + d]);
  }
  EXPECT_EQ(table(from_vector<std::int32_t>({1}, {1})).shape(), (Shape{1, 3}));
}

TEST(Embedding, PaddingRowGetsZeroGradient) {
  manual_seed(6);
  Embedding table(5, 3, /*padding_idx=*/0);
  Tensor idx = from_vector<std::int64_t>({0, 3, 0, 1, 3}, {5});
  sum(table(idx) * randn({5, 3})).backward();
  const Tensor grad = table.weight.grad();
  ASSERT_TRUE(grad.defined());
  EXPECT_EQ(max_abs(select(grad, 0, 0)), 0.0);
  EXPECT_GT(max_abs(select(grad, 0, 1)), 0.0);
  EXPECT_GT(max_abs(select(grad, 0, 3)), 0.0);
  EXPECT_EQ(max_abs(select(grad, 0, 2)), 0.0);  // unused rows get nothing either
}

TEST(Embedding, Gradcheck) {
  manual_seed(7);
  // Repeated indices accumulate. (A looked-up padding row has, by design, a
  // zero gradient that finite differences would not see: tested above.)
  Embedding table(6, 3, /*padding_idx=*/4);
  table.to_dtype(DType::f64);
  Tensor idx = from_vector<std::int32_t>({1, 2, 5, 1, 0, 2}, {3, 2});
  auto result = gradcheck([&](const std::vector<Tensor>&) { return table(idx); }, with_parameters({}, table));
  EXPECT_TRUE(result.ok) << result.report;
  Tensor idx64 = transpose(from_vector<std::int64_t>({3, 3, 0, 1, 5, 3}, {2, 3}), 0, 1);
  result = gradcheck([&](const std::vector<Tensor>&) { return table(idx64); }, with_parameters({}, table));
  EXPECT_TRUE(result.ok) << result.report;
}

TEST(Embedding, Errors) {
  EXPECT_NE(message_of([] { Embedding(5, 3, 5); }).find("padding_idx 5"), std::string::npos);
  EXPECT_THROW(Embedding(5, 3, -2), Error);
  EXPECT_THROW(Embedding(0, 3), Error);
  Embedding table(5, 3);
  EXPECT_THROW(table(from_vector<std::int64_t>({7}, {1})), Error);
  EXPECT_THROW(table(zeros({2})), Error);
}

// ---- Dropout ----

TEST(Dropout, TrainingZeroesAndScalesEvalIsIdentity) {
  manual_seed(8);
  Dropout drop(0.25);
  Tensor x = ones({10000});
  const std::vector<float> y = drop(x).to_vector<float>();
  std::size_t zeros_count = 0;
  for (float v : y) {
    if (v == 0.0f) {
      ++zeros_count;
    } else {
      EXPECT_FLOAT_EQ(v, 1.0f / 0.75f);
    }
  }
  EXPECT_NEAR(static_cast<double>(zeros_count) / 10000.0, 0.25, 0.02);
  drop.eval();
  EXPECT_TRUE(bit_equal(drop(x), x));
  EXPECT_THROW(Dropout(1.5), Error);
  EXPECT_THROW(Dropout(-0.1), Error);
}

TEST(Dropout, GradcheckWithAFixedMask) {
  Dropout drop(0.4);
  Tensor x = randn({4, 5}, {DType::f64}).requires_grad_();
  auto result = gradcheck(
      [&](const std::vector<Tensor>& in) {
        manual_seed(123);  // the same mask on every evaluation
        return drop(in[0]);
      },
      {x});
  EXPECT_TRUE(result.ok) << result.report;
}

// ---- LayerNorm and RMSNorm ----

TEST(LayerNorm, OnesAndZerosInitAndNormalisedRows) {
  LayerNorm norm({6});
  EXPECT_EQ(names_of(norm.named_parameters()), (std::vector<std::string>{"weight", "bias"}));
  EXPECT_EQ(norm.weight.to_vector<float>(), std::vector<float>(6, 1.0f));
  EXPECT_EQ(norm.bias.to_vector<float>(), std::vector<float>(6, 0.0f));
  manual_seed(12);
  Tensor x = randn({4, 6}, {DType::f64}) * 3.0 + 1.0;
  norm.to_dtype(DType::f64);
  const std::vector<double> in = x.to_vector<double>();
  const std::vector<double> out = norm(x).to_vector<double>();
  for (int r = 0; r < 4; ++r) {
    double mean = 0, var = 0;
    for (int c = 0; c < 6; ++c) mean += in[r * 6 + c] / 6;
    for (int c = 0; c < 6; ++c) var += (in[r * 6 + c] - mean) * (in[r * 6 + c] - mean) / 6;
    for (int c = 0; c < 6; ++c) EXPECT_NEAR(out[r * 6 + c], (in[r * 6 + c] - mean) / std::sqrt(var + 1e-5), 1e-12);
  }
  LayerNorm plain({6}, 1e-5, /*elementwise_affine=*/false);
  EXPECT_TRUE(plain.named_parameters().empty());
  EXPECT_FALSE(plain.weight.defined());
}

TEST(LayerNorm, GradcheckOverTwoTrailingDims) {
  manual_seed(13);
  LayerNorm norm({2, 3});
  norm.to_dtype(DType::f64);
  init::normal_(norm.weight);  // away from ones/zeros so every term matters
  init::normal_(norm.bias);
  Tensor x = transpose(randn({2, 3, 4}, {DType::f64}), 0, 2).requires_grad_();  // [4, 3, 2] view
  LayerNorm norm32({3, 2});
  norm32.to_dtype(DType::f64);
  init::normal_(norm32.weight);
  auto result = gradcheck([&](const std::vector<Tensor>& in) { return norm32(in[0]); }, with_parameters({x}, norm32));
  EXPECT_TRUE(result.ok) << result.report;
  Tensor y = randn({5, 2, 3}, {DType::f64}).requires_grad_();
  result = gradcheck([&](const std::vector<Tensor>& in) { return norm(in[0]); }, with_parameters({y}, norm));
  EXPECT_TRUE(result.ok) << result.report;
}

TEST(LayerNorm, Errors) {
  EXPECT_THROW(LayerNorm(Shape{}), Error);
  EXPECT_THROW(LayerNorm({0}), Error);
  EXPECT_THROW(LayerNorm({4}, -1.0), Error);
  LayerNorm norm({4});
  EXPECT_THROW(norm(zeros({2, 5})), Error);
}

TEST(RMSNorm, OnesInitAndForwardFormula) {
  RMSNorm norm({5});
  EXPECT_EQ(names_of(norm.named_parameters()), std::vector<std::string>{"weight"});
  EXPECT_EQ(norm.weight.to_vector<float>(), std::vector<float>(5, 1.0f));
  norm.to_dtype(DType::f64);
  manual_seed(14);
  init::normal_(norm.weight);
  Tensor x = randn({3, 5}, {DType::f64});
  const std::vector<double> in = x.to_vector<double>(), w = norm.weight.to_vector<double>();
  const std::vector<double> out = norm(x).to_vector<double>();
  for (int r = 0; r < 3; ++r) {
    double ms = 0;
    for (int c = 0; c < 5; ++c) ms += in[r * 5 + c] * in[r * 5 + c] / 5;
    for (int c = 0; c < 5; ++c) EXPECT_NEAR(out[r * 5 + c], in[r * 5 + c] / std::sqrt(ms + 1e-6) * w[c], 1e-12);
  }
}

TEST(RMSNorm, Gradcheck) {
  manual_seed(15);
  RMSNorm norm({4});
  norm.to_dtype(DType::f64);
  init::normal_(norm.weight);
  Tensor x = transpose(randn({4, 2, 3}, {DType::f64}), 0, 2).requires_grad_();  // [3, 2, 4] view
  auto result = gradcheck([&](const std::vector<Tensor>& in) { return norm(in[0]); }, with_parameters({x}, norm));
  EXPECT_TRUE(result.ok) << result.report;
  EXPECT_THROW(RMSNorm(Shape{}), Error);
  EXPECT_THROW(norm(zeros({2, 3}, {DType::f64})), Error);
}

// ---- activations ----

TEST(Activations, ModulesMatchTheFunctions) {
  manual_seed(9);
  Tensor x = randn({3, 4});
  EXPECT_TRUE(bit_equal(ReLU()(x), relu(x)));
  EXPECT_TRUE(bit_equal(GELU()(x), gelu(x)));
  EXPECT_TRUE(bit_equal(GELU(GeluApproximation::Tanh)(x), gelu(x, GeluApproximation::Tanh)));
  EXPECT_TRUE(bit_equal(SiLU()(x), silu(x)));
  EXPECT_TRUE(bit_equal(Sigmoid()(x), sigmoid(x)));
  EXPECT_TRUE(bit_equal(Tanh()(x), recgrad::tanh(x)));
  EXPECT_TRUE(ReLU().named_parameters().empty());
}

// ---- Sequential MLP ----

TEST(Sequential, MlpGradcheckAndCheckpointRoundTrip) {
  manual_seed(10);
  Sequential mlp(std::make_shared<Linear>(4, 8), std::make_shared<GELU>(GeluApproximation::Tanh),
                 std::make_shared<Linear>(8, 8), std::make_shared<SiLU>(), std::make_shared<Dropout>(0.5),
                 std::make_shared<Linear>(8, 2), std::make_shared<Tanh>());
  EXPECT_EQ(names_of(mlp.named_parameters()),
            (std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias", "5.weight", "5.bias"}));
  mlp.eval();  // dropout off
  mlp.to_dtype(DType::f64);
  Tensor x = randn({3, 4}, {DType::f64}).requires_grad_();
  auto result = gradcheck([&](const std::vector<Tensor>& in) { return mlp(in[0]); }, with_parameters({x}, mlp));
  EXPECT_TRUE(result.ok) << result.report;

  const std::string path =
      (std::filesystem::temp_directory_path() / ("recgrad_mlp_" + std::to_string(::getpid()) + ".safetensors"))
          .string();
  mlp.save(path);
  manual_seed(11);
  Sequential other(std::make_shared<Linear>(4, 8), std::make_shared<GELU>(GeluApproximation::Tanh),
                   std::make_shared<Linear>(8, 8), std::make_shared<SiLU>(), std::make_shared<Dropout>(0.5),
                   std::make_shared<Linear>(8, 2), std::make_shared<Tanh>());
  EXPECT_THROW(other.load(path), Error);  // f64 checkpoint into an f32 model
  other.to_dtype(DType::f64);
  other.load(path);
  std::filesystem::remove(path);
  other.eval();
  EXPECT_TRUE(bit_equal(other(x), mlp(x)));
  for (const auto& [name, tensor] : mlp.state_dict()) EXPECT_TRUE(bit_equal(other.state_dict().at(name), tensor));
}
