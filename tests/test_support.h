// Assertions shared by the test suites.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "recgrad.h"

namespace recgrad::testing {

/// Expects `fn` to throw a recgrad::Error whose message contains every one of `parts`.
template <typename Fn>
void expect_error(Fn fn, const std::vector<std::string>& parts) {
  try {
    fn();
    ADD_FAILURE() << "expected a recgrad::Error";
  } catch (const Error& error) {
    const std::string message = error.what();
    for (const std::string& part : parts) EXPECT_NE(message.find(part), std::string::npos) << message;
  }
}

/// Expects the analytic gradients of `fn` at `inputs` to match finite differences (see gradcheck).
inline void expect_gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                             const std::vector<Tensor>& inputs, const GradcheckOptions& options = {}) {
  const GradcheckResult result = gradcheck(fn, inputs, options);
  EXPECT_TRUE(result.ok) << result.report;
}

/// Marks every input as requiring a gradient, then expect_gradcheck.
inline void expect_gradcheck_all(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                                 std::vector<Tensor> inputs, const GradcheckOptions& options = {}) {
  for (Tensor& input : inputs) input.requires_grad_();
  expect_gradcheck(fn, inputs, options);
}

}  // namespace recgrad::testing
