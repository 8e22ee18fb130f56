#include "autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "autograd/grad_mode.h"
#include "autograd/ops/binary.h"
#include "autograd/ops/reduce.h"
#include "core/factory.h"

namespace recgrad {

namespace {

// The multi-index of flat row-major element `flat` of `shape`, e.g. "[1, 0, 2]".
std::string index_str(std::int64_t flat, const Shape& shape) {
  Shape index(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    index[d] = flat % shape[d];
    flat /= shape[d];
  }
  return shape_str(index);
}

// Storage offsets (relative to the view start) of every element, row-major.
std::vector<std::int64_t> element_offsets(const Tensor& t) {
  std::vector<std::int64_t> offsets;
  for_each_offset(t.shape(), t.strides(), [&](std::int64_t off) { offsets.push_back(off); });
  return offsets;
}

}  // namespace

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined() || !inputs[i].requires_grad()) continue;
    RG_CHECK(inputs[i].dtype() == DType::f64 && inputs[i].device().is_cpu(), "gradcheck: input ", i,
             " must be an f64 CPU tensor, got ", inputs[i].dtype(), " on ", inputs[i].device());
    RG_CHECK(inputs[i].is_leaf(), "gradcheck: input ", i, " must be a leaf tensor");
    for (std::int64_t s : inputs[i].strides()) {
      RG_CHECK(s != 0 || inputs[i].numel() <= 1, "gradcheck: input ", i,
               " has a zero stride (an expanded view); perturbing one element would move many");
    }
  }

  // Fixed projection weights turn any output into a scalar.
  Tensor weights;
  auto scalar_loss = [&](const std::vector<Tensor>& args) -> Tensor {
    Tensor out = fn(args);
    RG_CHECK(out.dtype() == DType::f64, "gradcheck: the function must return f64, got ", out.dtype());
    if (!weights.defined()) {
      Generator generator(options.seed);
      weights = rand(out.shape(), 0.5, 1.5, {DType::f64}, &generator);
    }
    return sum(mul(out, weights));
  };

  // Analytic gradients, with each input's .grad saved and restored around it.
  std::vector<Tensor> saved_grads;
  for (const Tensor& input : inputs) {
    saved_grads.push_back(input.defined() ? input.grad() : Tensor());
    if (input.defined()) input.set_grad(Tensor());
  }
  Tensor loss = scalar_loss(inputs);
  if (loss.requires_grad()) loss.backward();
  std::vector<Tensor> analytic;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    analytic.push_back(inputs[i].defined() ? inputs[i].grad() : Tensor());
    if (inputs[i].defined()) inputs[i].set_grad(saved_grads[i]);
  }

  GradcheckResult result;
  std::ostringstream report;
  double worst_excess = -1.0;
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& input = inputs[i];
    if (!input.defined() || !input.requires_grad()) continue;
    const std::vector<double> analytic_values =
        analytic[i].defined() ? analytic[i].to_vector<double>() : std::vector<double>(input.numel(), 0.0);
    double* base = input.data<double>();
    const std::vector<std::int64_t> offsets = element_offsets(input);
    for (std::size_t e = 0; e < offsets.size(); ++e) {
      double& x = base[offsets[e]];
      const double original = x;
      x = original + options.eps;
      const double plus = scalar_loss(inputs).item<double>();
      x = original - options.eps;
      const double minus = scalar_loss(inputs).item<double>();
      x = original;
      const double numeric = (plus - minus) / (2.0 * options.eps);
      const double error = std::abs(analytic_values[e] - numeric);
      const double allowed = options.atol + options.rtol * std::abs(numeric);
      result.max_abs_error = std::max(result.max_abs_error, error);
      if (error - allowed > worst_excess) {
        worst_excess = error - allowed;
        report.str("");
        report << "worst element: input " << i << " (shape " << input.shape() << ") at "
               << index_str(static_cast<std::int64_t>(e), input.shape()) << ": analytic " << analytic_values[e]
               << ", numeric " << numeric << ", |error| " << error << " (allowed " << allowed << ")";
      }
      if (error > allowed) result.ok = false;
    }
  }
  result.report = (result.ok ? "gradcheck passed; " : "gradcheck FAILED; ") + report.str();
  return result;
}

}  // namespace recgrad
