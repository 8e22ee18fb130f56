// gradcheck: compares the analytic gradient from backward() with central
// finite differences (f(x + eps) - f(x - eps)) / (2 eps), in f64.
//
// A non-scalar output y is reduced to the scalar L = sum(y * w) with fixed
// random weights w, so every output element contributes; the check is then
// dL/dx_i (analytic) against the finite difference of L for every element x_i
// of every input that requires grad.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace recgrad {

struct GradcheckOptions {
  double eps = 1e-6;   // finite-difference step
  double atol = 1e-6;  // |analytic - numeric| <= atol + rtol * |numeric|
  double rtol = 1e-4;
  std::uint64_t seed = 1234;  // for the output projection weights
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0.0;
  std::string report;  // names the worst element: input, index, analytic, numeric
};

/// Checks every input with requires_grad (f64, CPU). `fn` must be a pure
/// function of its inputs (re-evaluated many times).
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

}  // namespace recgrad
