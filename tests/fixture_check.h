// Comparison with the PyTorch fixtures of tests/fixtures/ (tests/data/<suite>/<case>.safetensors): a case holds
// inputs "in.<name>", parameters "param.<name>" under recgrad's names, the weights "w" of the backpropagated
// sum(out * w), the float64 output "out" and gradients "grad.in.<name>" / "grad.param.<name>". In f32 recgrad
// must match them to 1e-5 relative (plus 1e-6 of the largest reference value, for entries near zero).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/ops/copy.h"
#include "nn/safetensors.h"
#include "recgrad.h"

namespace recgrad::testing {

/// The fixture tests/data/<suite>/<name>.safetensors.
inline nn::StateDict load_fixture(const std::string& suite, const std::string& name) {
  return nn::load_safetensors(std::string(RECGRAD_TEST_DATA_DIR) + "/" + suite + "/" + name + ".safetensors");
}

/// Expects |actual - expected| <= 1e-5 |expected| + 1e-6 max|expected| elementwise (expected in f64).
inline void expect_matches_reference(const Tensor& actual, const Tensor& expected, const std::string& what) {
  ASSERT_EQ(actual.shape(), expected.shape()) << what;
  const std::vector<double> a = actual.to_vector<double>(), e = expected.to_vector<double>();
  double scale = 0.0;
  for (double v : e) scale = std::max(scale, std::abs(v));
  int bad = 0;
  std::size_t worst = 0;
  double worst_excess = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double excess = std::abs(a[i] - e[i]) - (1e-5 * std::abs(e[i]) + 1e-6 * scale);
    if (excess > 0 || !std::isfinite(a[i])) {
      ++bad;
      if (excess >= worst_excess) worst_excess = excess, worst = i;
    }
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << a.size() << " elements off; worst at " << worst << ": recgrad "
                    << a[worst] << " torch " << e[worst];
}

/// Loads the case's parameters into `module`, runs `forward` on the case's inputs (floating ones in f32 and
/// requiring gradients), backpropagates sum(out * w), and compares the output, the inputs' gradients and every
/// parameter's gradient with torch (each of the module's parameters must have one in the fixture).
inline void check_fixture_case(const std::string& suite, const std::string& name, nn::Module& module,
                               const std::function<Tensor(const nn::StateDict& inputs)>& forward) {
  SCOPED_TRACE(name);
  const nn::StateDict fixture = load_fixture(suite, name);
  nn::StateDict params, inputs;
  for (const auto& [key, tensor] : fixture) {
    if (key.rfind("param.", 0) == 0) params.insert(key.substr(6), tensor);
    if (key.rfind("in.", 0) == 0) {
      Tensor input = raw::clone(tensor);
      if (is_floating(input.dtype())) input.requires_grad_();
      inputs.insert(key.substr(3), input);
    }
  }
  module.load_state_dict(params);
  const Tensor out = forward(inputs);
  expect_matches_reference(out, fixture.at("out"), "output");
  sum(mul(out, fixture.at("w"))).backward();
  for (const auto& [key, input] : inputs) {
    if (const Tensor* expected = fixture.find("grad.in." + key)) {
      ASSERT_TRUE(input.grad().defined()) << key;
      expect_matches_reference(input.grad(), *expected, "gradient of input " + key);
    }
  }
  int compared = 0;
  for (const auto& [key, param] : module.named_parameters()) {
    const Tensor* expected = fixture.find("grad.param." + key);
    ASSERT_NE(expected, nullptr) << "torch has no gradient for " << key;
    ASSERT_TRUE(param.grad().defined()) << key;
    expect_matches_reference(param.grad(), *expected, "gradient of " + key);
    ++compared;
  }
  EXPECT_EQ(compared, static_cast<int>(params.size()));
}

}  // namespace recgrad::testing
