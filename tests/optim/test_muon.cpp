// Muon and its Newton-Schulz iteration against the PyTorch reference
// (tests/fixtures/make_muon_fixtures.py, which writes the reference Muon of
// KellerJordan/Muon out in torch): Newton-Schulz outputs in f64, f32 and bf16,
// 50 steps of Muon (hidden weights, one a 4-D kernel) + AdamW (the rest) on a
// small MLP; then the iteration's properties (singular values, orthogonality,
// invariances), Muon's update by hand on a tiny case, options, errors,
// describe(), the kept Newton-Schulz outputs and the state_dict.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "optim_fixtures.h"
#include "recgrad.h"
#include "test_support.h"

using namespace recgrad;
using json = nlohmann::json;
using recgrad::testing::expect_error;
using recgrad::testing::load_group_options;
using recgrad::testing::load_optim_fixture;
using recgrad::testing::relative_error;
using recgrad::testing::tensor_from_json;

namespace {

std::vector<NewtonSchulzCoefficients> coefficients_from_json(const json& j) {
  std::vector<NewtonSchulzCoefficients> out;
  for (const auto& triple : j) out.push_back({triple.at(0), triple.at(1), triple.at(2)});
  return out;
}

// The singular values of a 2-D matrix (from the eigenvalues of its smaller Gram matrix), ascending.
std::vector<double> singular_values(const Tensor& x) {
  const Tensor m = to_dtype(x, DType::f64);
  const Tensor y = m.size(0) > m.size(1) ? transpose(m, 0, 1) : m;
  const Tensor gram = contiguous(matmul(y, transpose(y, 0, 1)));
  std::vector<double> eig = symmetric_eigenvalues(gram.to_vector<double>(), gram.size(0));  // optim/audit.h
  for (double& e : eig) e = std::sqrt(std::max(e, 0.0));
  return eig;
}

// ---- the small MLP of the fixtures ----

const std::vector<std::string> kAllNames = {"fc1.weight", "fc1.bias",   "fc2.weight",
                                            "fc2.bias",   "fc3.weight", "fc3.bias"};

struct FixtureModel {
  std::map<std::string, Tensor> params;
  Tensor x, target;

  FixtureModel(const json& fixture, DType dtype) {
    x = tensor_from_json(fixture.at("x"), dtype);
    target = tensor_from_json(fixture.at("target"), dtype);
    for (const std::string& name : kAllNames) {
      params[name] = tensor_from_json(fixture.at("initial").at(name), dtype).requires_grad_();
    }
  }

  // The fixture's loss at step t (1-based): rows 8 (t - 1) mod 32 .. + 8.
  Tensor loss(int step) {
    const std::int64_t start = (8 * (step - 1)) % 32;
    const Tensor xb = narrow(x, 0, start, 8), yb = narrow(target, 0, start, 8);
    Tensor h = tanh(linear(xb, params["fc1.weight"], params["fc1.bias"]));
    h = tanh(linear(h, reshape(params["fc2.weight"], {12, 16}), params["fc2.bias"]));
    return mse_loss(linear(h, params["fc3.weight"], params["fc3.bias"]), yb);
  }

  template <typename Options>
  ParamGroup<Options> group(const std::vector<std::string>& names, const Options& options) {
    ParamGroup<Options> g{{}, {}, options};
    for (const std::string& name : names) {
      g.params.push_back(params[name]);
      g.names.push_back(name);
    }
    return g;
  }

  void zero_grad() {
    for (auto& [name, p] : params) p.set_grad(Tensor());
  }
};

// Trains Muon + AdamW as the fixture did; returns the worst relative error over the checkpoints and losses.
double hybrid_trajectory_error(const json& fixture, DType dtype, double checkpoint_tolerance) {
  const json& run = fixture.at(dtype == DType::f64 ? "f64" : "f32");
  FixtureModel model(fixture, dtype);
  const json& mo = fixture.at("muon_options");
  Muon muon({model.group(
      fixture.at("muon_params").get<std::vector<std::string>>(),
      MuonOptions{.lr = mo.at("lr"), .momentum = mo.at("momentum"), .weight_decay = mo.at("weight_decay")})});
  const json& ao = fixture.at("adamw_options");
  AdamW adamw({model.group(fixture.at("adamw_params").get<std::vector<std::string>>(),
                           AdamWOptions{.lr = ao.at("lr"),
                                        .beta1 = ao.at("beta1"),
                                        .beta2 = ao.at("beta2"),
                                        .eps = ao.at("eps"),
                                        .weight_decay = ao.at("weight_decay")})});
  const auto losses = run.at("losses").get<std::vector<double>>();
  double worst = 0;
  for (int step = 1; step <= fixture.at("steps").get<int>(); ++step) {
    model.zero_grad();
    const Tensor loss = model.loss(step);
    loss.backward();
    muon.step();
    adamw.step();
    const double torch_loss = losses.at(static_cast<std::size_t>(step - 1));
    worst = std::max(worst, std::abs(loss.item<double>() - torch_loss) / std::abs(torch_loss));
    const std::string key = std::to_string(step);
    if (!run.at("checkpoints").contains(key)) continue;
    for (const std::string& name : kAllNames) {
      const double error =
          relative_error(model.params[name], tensor_from_json(run.at("checkpoints").at(key).at(name), DType::f64));
      worst = std::max(worst, error);
      EXPECT_LT(error, checkpoint_tolerance) << name << " after step " << step;
    }
  }
  return worst;
}

}  // namespace

// ---------------------------------------------------------------- Newton-Schulz

TEST(NewtonSchulz, MatchesTorchReference) {
  const json fixture = load_optim_fixture("muon_newton_schulz");
  double worst_f64 = 0, worst_f32 = 0, worst_bf16 = 0, worst_bf16_reference = 0;
  for (const json& c : fixture.at("cases")) {
    const NewtonSchulzOptions f64_options{.coefficients = coefficients_from_json(c.at("coefficients")),
                                          .steps = c.at("steps"),
                                          .eps = fixture.at("eps"),
                                          .precision = NewtonSchulzPrecision::kInputDtype};
    NewtonSchulzOptions bf16_options = f64_options;
    bf16_options.precision = NewtonSchulzPrecision::kBFloat16;
    const Tensor g64 = tensor_from_json(c.at("input"), DType::f64);
    const Tensor g32 = tensor_from_json(c.at("input"), DType::f32);
    const std::string label = detail::concat(c.at("schedule").get<std::string>(), " ", g64.shape());

    const Tensor o64 = newton_schulz(g64, f64_options);
    EXPECT_EQ(o64.shape(), g64.shape());
    EXPECT_EQ(o64.dtype(), DType::f64);
    const double e64 = relative_error(o64, tensor_from_json(c.at("f64"), DType::f64));
    const double e32 = relative_error(newton_schulz(g32, f64_options), tensor_from_json(c.at("f32"), DType::f64));
    const Tensor o16 = newton_schulz(g32, bf16_options);
    EXPECT_EQ(o16.dtype(), DType::f32);
    // bf16: the same arithmetic written in torch (one rounding per GEMM) up to the order of the f32 sums, which
    // can flip a rounding by one bf16 ulp (2^-8); and the reference's own bf16 (one rounding per op), which is
    // itself up to ~0.18 away from f32 on these matrices, so it is a loose bound.
    const double e16 = relative_error(o16, tensor_from_json(c.at("bf16_per_gemm"), DType::f64));
    const double e16_reference = relative_error(o16, tensor_from_json(c.at("bf16"), DType::f64));
    const Tensor f32_reference = tensor_from_json(c.at("f32"), DType::f64);
    EXPECT_LT(e64, 1e-12) << label;
    EXPECT_LT(e32, 1e-5) << label;
    EXPECT_LT(e16, 2e-2) << label;
    EXPECT_LT(e16_reference, 0.25) << label;
    // Rounding once per GEMM stays at least as close to f32 as the reference's bf16 does.
    EXPECT_LE(relative_error(o16, f32_reference),
              1.5 * relative_error(tensor_from_json(c.at("bf16"), DType::f64), f32_reference))
        << label;
    worst_f64 = std::max(worst_f64, e64);
    worst_f32 = std::max(worst_f32, e32);
    worst_bf16 = std::max(worst_bf16, e16);
    worst_bf16_reference = std::max(worst_bf16_reference, e16_reference);
  }
  std::cout << "  Newton-Schulz vs torch: worst relative error f64 " << worst_f64 << ", f32 " << worst_f32 << ", bf16 "
            << worst_bf16 << " (vs the reference's per-op bf16: " << worst_bf16_reference << ")\n";
}

TEST(NewtonSchulz, SingularValuesNearOneForRandomMatrices) {
  // Rectangular Gaussian matrices: their singular values are bounded away from 0 (ratio ~0.27 for 1:3), and the
  // quintic leaves them all in [0.65, 1.2]. Its orthogonality error (RMS of sigma^2 - 1) is ~0.4 by design.
  Generator gen(11);
  for (const Shape& shape : {Shape{64, 192}, Shape{192, 64}, Shape{16, 48}, Shape{96, 32}}) {
    const Tensor g = randn(shape, {}, &gen);
    const Tensor o = newton_schulz(g);
    const std::vector<double> s = singular_values(o);
    EXPECT_GT(s.front(), 0.65) << shape;
    EXPECT_LT(s.back(), 1.2) << shape;
    const std::vector<double> s_in = singular_values(g);
    EXPECT_GT(s_in.back() / s_in.front(), 1.5) << shape;  // the input was not orthogonal
    EXPECT_LT(orthogonality_error(o), 0.45) << shape;     // observed 0.36 .. 0.41
    EXPECT_GT(orthogonality_error(g / s_in.back()), 0.6) << shape;
  }
}

namespace {

// n orthonormal rows of length m (n <= m), by modified Gram-Schmidt on a Gaussian matrix, in f64.
Tensor orthonormal_rows(std::int64_t n, std::int64_t m, Generator& gen) {
  std::vector<double> a = randn({n, m}, {DType::f64}, &gen).to_vector<double>();
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < i; ++j) {
      double dot = 0;
      for (std::int64_t k = 0; k < m; ++k) dot += a[i * m + k] * a[j * m + k];
      for (std::int64_t k = 0; k < m; ++k) a[i * m + k] -= dot * a[j * m + k];
    }
    double norm = 0;
    for (std::int64_t k = 0; k < m; ++k) norm += a[i * m + k] * a[i * m + k];
    for (std::int64_t k = 0; k < m; ++k) a[i * m + k] /= std::sqrt(norm);
  }
  return from_vector<double>(a, {n, m});
}

}  // namespace

TEST(NewtonSchulz, ActsOnEachSingularValueThroughTheScalarPolynomial) {
  // G = U diag(sigma) V^T with sigma spread over two decades: the iteration keeps U and V and maps each
  // s = sigma / ||G||_F through p(s) = a s + b s^3 + c s^5 five times, so NS(G) = U diag(p^5(s)) V^T.
  Generator gen(14);
  const std::int64_t n = 12, m = 30;
  const Tensor u = orthonormal_rows(n, n, gen), vt = orthonormal_rows(n, m, gen);
  std::vector<double> sigma(n), diag(n * n, 0.0), mapped(n * n, 0.0);
  double frobenius = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    sigma[i] = std::pow(10.0, -2.0 * static_cast<double>(i) / static_cast<double>(n - 1));
    frobenius += sigma[i] * sigma[i];
  }
  frobenius = std::sqrt(frobenius);
  for (std::int64_t i = 0; i < n; ++i) {
    double s = sigma[i] / (frobenius + 1e-7);
    for (int step = 0; step < 5; ++step) s = 3.4445 * s - 4.7750 * s * s * s + 2.0315 * s * s * s * s * s;
    EXPECT_GT(s, 0.65) << "sigma " << sigma[i];
    EXPECT_LT(s, 1.2) << "sigma " << sigma[i];
    diag[i * n + i] = sigma[i];
    mapped[i * n + i] = s;
  }
  const Tensor g = matmul(matmul(u, from_vector<double>(diag, {n, n})), vt);
  const Tensor expected = matmul(matmul(u, from_vector<double>(mapped, {n, n})), vt);
  EXPECT_LT(relative_error(newton_schulz(g), expected), 1e-12);
  EXPECT_LT(relative_error(newton_schulz(to_dtype(g, DType::f32)), expected), 1e-5);
  EXPECT_LT(relative_error(newton_schulz(contiguous(transpose(g, 0, 1))), contiguous(transpose(expected, 0, 1))),
            1e-12);
}

TEST(NewtonSchulz, ClassicCubicScheduleConvergesToExactOrthogonality) {
  // p(s) = 1.5 s - 0.5 s^3 converges to 1 on (0, sqrt(3)): the schedule is a real parameter.
  Generator gen(12);
  const Tensor g = randn({16, 40}, {DType::f64}, &gen);
  const NewtonSchulzOptions cubic{
      .coefficients = {{1.5, -0.5, 0.0}}, .steps = 40, .precision = NewtonSchulzPrecision::kInputDtype};
  const Tensor o = newton_schulz(g, cubic);
  EXPECT_LT(orthogonality_error(o), 1e-10);
  const std::vector<double> s = singular_values(o);
  EXPECT_NEAR(s.front(), 1.0, 1e-10);
  EXPECT_NEAR(s.back(), 1.0, 1e-10);
  // ... and it is U V^T: O^T G = V S V^T is symmetric positive definite, so <O, G> = sum of singular values.
  const std::vector<double> sg = singular_values(g);
  double nuclear = 0;
  for (double v : sg) nuclear += v;
  EXPECT_NEAR(sum(o * g).item<double>(), nuclear, 1e-8 * nuclear);
}

TEST(NewtonSchulz, InvariantToScaleAndTranspose) {
  Generator gen(13);
  const Tensor g = randn({12, 20}, {}, &gen);
  const Tensor o = newton_schulz(g);
  EXPECT_LT(relative_error(newton_schulz(g * 37.0), o), 1e-5);
  EXPECT_LT(relative_error(newton_schulz(transpose(g, 0, 1)), contiguous(transpose(o, 0, 1))), 1e-6);
  // A strided (non-contiguous) input gives the same as its dense copy.
  const Tensor wide = randn({12, 40}, {}, &gen);
  const Tensor strided = slice(wide, 1, 0, 40, 2);
  EXPECT_LT(relative_error(newton_schulz(strided), newton_schulz(contiguous(strided))), 1e-7);
  // Zero steps: just the normalized input.
  const Tensor normalized = newton_schulz(g, {.steps = 0});
  EXPECT_NEAR(norm(normalized).item<double>(), 1.0, 1e-6);
}

TEST(NewtonSchulz, ZeroMatrixGivesZeros) {
  const Tensor o = newton_schulz(zeros({4, 6}));
  for (double v : o.to_vector<double>()) EXPECT_EQ(v, 0.0);
}

TEST(NewtonSchulz, BadInputThrows) {
  expect_error([] { newton_schulz(zeros({5})); }, {"newton_schulz", "2-D"});
  expect_error([] { newton_schulz(zeros({2, 2}, {DType::i64})); }, {"newton_schulz", "i64"});
  expect_error([] { newton_schulz(zeros({2, 2}), {.coefficients = {}}); }, {"newton_schulz", "empty"});
  expect_error([] { newton_schulz(zeros({2, 2}), {.steps = -1}); }, {"newton_schulz", "steps"});
}

// ---------------------------------------------------------------- Muon against torch

TEST(Muon, HybridTrajectoryMatchesTorchFloat64) {
  const json fixture = load_optim_fixture("muon_hybrid");
  const double worst = hybrid_trajectory_error(fixture, DType::f64, 1e-9);
  std::cout << "  Muon + AdamW, 50 steps, f64: worst relative error " << worst << "\n";
  EXPECT_LT(worst, 1e-9);
}

TEST(Muon, HybridTrajectoryMatchesTorchFloat32) {
  const json fixture = load_optim_fixture("muon_hybrid");
  const double worst = hybrid_trajectory_error(fixture, DType::f32, 1e-5);
  std::cout << "  Muon + AdamW, 50 steps, f32: worst relative error " << worst << "\n";
  EXPECT_LT(worst, 1e-5);
}

TEST(Muon, HybridFixtureMovesTheWeights) {
  const json fixture = load_optim_fixture("muon_hybrid");
  for (const std::string name : {"fc1.weight", "fc2.weight", "fc3.weight"}) {
    const Tensor start = tensor_from_json(fixture.at("initial").at(name), DType::f64);
    const Tensor end = tensor_from_json(fixture.at("f64").at("checkpoints").at("50").at(name), DType::f64);
    EXPECT_GT(relative_error(end, start), 0.1) << name;
  }
  const auto losses = fixture.at("f64").at("losses").get<std::vector<double>>();
  EXPECT_LT(losses.back(), 0.6 * losses.front());
}

// ---------------------------------------------------------------- Muon by hand

// With ns_steps = 0 Newton-Schulz is only U / (||U||_F + eps), so a whole Muon step can be written out.
TEST(Muon, StepMatchesHandFormulaForEveryMomentumForm) {
  const std::vector<double> w0 = {0.5, -0.2, 0.1, 0.3, -0.4, 0.25};  // [3, 2]: rows > cols, scale sqrt(3/2)
  const std::vector<std::vector<double>> grads = {{0.1, 0.2, -0.3, 0.4, 0.05, -0.1}, {-0.2, 0.1, 0.3, 0.0, 0.2, 0.1}};
  const double lr = 0.1, beta = 0.9, wd = 0.05, eps = 1e-7;
  for (const bool nesterov : {false, true}) {
    for (const auto form : {MuonMomentumForm::kEma, MuonMomentumForm::kSummed}) {
      for (const auto rule : {MuonUpdateScale::kOriginal, MuonUpdateScale::kMatchAdamWRms}) {
        Tensor w = from_vector<double>(w0, {3, 2}).requires_grad_();
        Muon muon({w}, MuonOptions{.lr = lr,
                                   .momentum = beta,
                                   .nesterov = nesterov,
                                   .momentum_form = form,
                                   .weight_decay = wd,
                                   .update_scale = rule,
                                   .ns_steps = 0,
                                   .ns_eps = eps});
        std::vector<double> expected = w0, m(6, 0.0);
        const double scale = rule == MuonUpdateScale::kOriginal ? std::sqrt(1.5) : 0.2 * std::sqrt(3.0);
        for (const auto& g : grads) {
          w.set_grad(from_vector<double>(g, {3, 2}));
          muon.step();
          std::vector<double> u(6);
          for (int k = 0; k < 6; ++k) {
            m[k] = form == MuonMomentumForm::kEma ? beta * m[k] + (1 - beta) * g[k] : beta * m[k] + g[k];
            u[k] = !nesterov                        ? m[k]
                   : form == MuonMomentumForm::kEma ? (1 - beta) * g[k] + beta * m[k]
                                                    : g[k] + beta * m[k];
          }
          double norm_u = 0;
          for (double v : u) norm_u += v * v;
          norm_u = std::sqrt(norm_u);
          for (int k = 0; k < 6; ++k) expected[k] = expected[k] * (1 - lr * wd) - lr * scale * u[k] / (norm_u + eps);
        }
        const auto got = w.detach().to_vector<double>();
        for (int k = 0; k < 6; ++k) {
          EXPECT_NEAR(got[k], expected[k], 1e-14) << "nesterov " << nesterov << " form " << static_cast<int>(form)
                                                  << " scale " << static_cast<int>(rule) << " element " << k;
        }
      }
    }
  }
}

TEST(Muon, UpdateScaleRules) {
  EXPECT_DOUBLE_EQ(muon_update_scale(192, 64, MuonUpdateScale::kOriginal), std::sqrt(3.0));
  EXPECT_DOUBLE_EQ(muon_update_scale(64, 192, MuonUpdateScale::kOriginal), 1.0);
  EXPECT_DOUBLE_EQ(muon_update_scale(64, 192, MuonUpdateScale::kMatchAdamWRms), 0.2 * std::sqrt(192.0));
  EXPECT_EQ(muon_matrix_shape({8, 3, 2, 2}, "conv"), Shape({8, 12}));
}

TEST(Muon, ParametersWithoutGradientAreSkipped) {
  Tensor a = ones({3, 3}).requires_grad_(), b = ones({2, 4}).requires_grad_();
  Muon muon({a, b});
  a.set_grad(ones({3, 3}));
  muon.step();
  EXPECT_EQ(muon.find_state(b), nullptr);
  for (double v : b.detach().to_vector<double>()) EXPECT_EQ(v, 1.0);
  EXPECT_NE(a.detach().to_vector<double>()[0], 1.0);
}

TEST(Muon, KeepsLastOrthogonalizedForTheAudit) {
  Generator gen(5);
  Tensor w = randn({6, 4}, {}, &gen).requires_grad_();
  const Tensor g = randn({6, 4}, {}, &gen);
  Muon off({w});
  w.set_grad(g);
  off.step();
  EXPECT_EQ(off.last_orthogonalized(w), nullptr);

  Tensor v = randn({6, 4}, {}, &gen).requires_grad_();
  Muon on({v}, MuonOptions{.keep_last_orthogonalized = true});
  EXPECT_EQ(on.last_orthogonalized(v), nullptr);  // not updated yet
  v.set_grad(g);
  on.step();
  const Tensor* o = on.last_orthogonalized(v);
  ASSERT_NE(o, nullptr);
  // First step, EMA + Nesterov: U = (1 - beta) g + beta (1 - beta) g, a multiple of g.
  EXPECT_LT(relative_error(*o, newton_schulz(g)), 1e-5);
}

TEST(Muon, ConvKernelIsFlattened) {
  Generator gen(6);
  Tensor k = randn({8, 3, 2, 2}, {}, &gen).requires_grad_();
  const Tensor before = clone(k.detach());
  const Tensor g = randn({8, 3, 2, 2}, {}, &gen);
  Muon muon({k}, MuonOptions{.lr = 0.1, .keep_last_orthogonalized = true});
  k.set_grad(g);
  muon.step();
  const Tensor* o = muon.last_orthogonalized(k);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->shape(), Shape({8, 12}));
  const Tensor expected = before - 0.1 * reshape(newton_schulz(reshape(g, {8, 12})), {8, 3, 2, 2});
  EXPECT_LT(relative_error(k.detach(), expected), 1e-6);
}

TEST(Muon, BFloat16NewtonSchulzOnTheCpuIsCloseToFloat32) {
  Generator gen(7);
  const Tensor init = randn({16, 24}, {}, &gen), g = randn({16, 24}, {}, &gen);
  Tensor a = clone(init).requires_grad_(), b = clone(init).requires_grad_();
  Muon f32({a}, MuonOptions{.ns_precision = NewtonSchulzPrecision::kInputDtype});
  Muon bf16({b}, MuonOptions{.ns_precision = NewtonSchulzPrecision::kBFloat16});
  a.set_grad(g);
  b.set_grad(g);
  f32.step();
  bf16.step();
  const double diff = relative_error(a.detach() - init, b.detach() - init);
  EXPECT_GT(diff, 1e-5);  // really rounded
  EXPECT_LT(diff, 5e-2);
}

TEST(Muon, RejectsVectorsAndBadOptions) {
  expect_error(
      [] {
        Muon muon({Muon::Group{{zeros({4}).requires_grad_()}, {"fc.bias"}}});
      },
      {"Muon", "fc.bias", "AdamW"});
  const Tensor w = zeros({2, 2}).requires_grad_();
  expect_error([&] { Muon muon({w}, MuonOptions{.momentum = 1.0}); }, {"Muon", "momentum"});
  expect_error([&] { Muon muon({w}, MuonOptions{.lr = -1}); }, {"Muon", "lr"});
  // Options given by name (a checkpoint's param_groups.<g>.<option>) are checked as typed values.
  Muon muon({w});
  expect_error([&] { load_group_options(muon, {{"ns_steps", 2.5}}); }, {"Muon", "ns_steps"});
  expect_error([&] { load_group_options(muon, {{"momentum_form", 2}}); }, {"Muon", "momentum_form"});
  expect_error([&] { load_group_options(muon, {{"betas", 0.9}}); }, {"Muon", "unknown option", "betas"});
  expect_error([&] { Muon muon({w}, MuonOptions{.ns_coefficients = {}}); }, {"Muon", "coefficient"});
}

TEST(Muon, DescribePrintsEverySetting) {
  const Tensor w = zeros({2, 2}).requires_grad_();
  Muon muon({Muon::Group{
      {w},
      {"w"},
      {.lr = 0.03, .momentum_form = MuonMomentumForm::kSummed, .update_scale = MuonUpdateScale::kMatchAdamWRms}}});
  const std::string text = muon.describe();
  for (const std::string part :
       {"Muon group 0 (1 params)", "lr=0.03", "momentum=0.95", "momentum_form=summed", "nesterov=true",
        "weight_decay=0", "update_scale=match_adamw_rms", "ns_steps=5", "(3.4445, -4.775, 2.0315)", "ns_eps=1e-07",
        "ns_precision=auto", "keep_last_orthogonalized=false"}) {
    EXPECT_NE(text.find(part), std::string::npos) << part << " not in: " << text;
  }
}

TEST(Muon, StateDictRoundTripContinuesTheSameTrajectory) {
  Generator gen(8);
  const Tensor init = randn({5, 7}, {DType::f64}, &gen);
  std::vector<Tensor> grads;
  for (int t = 0; t < 6; ++t) grads.push_back(randn({5, 7}, {DType::f64}, &gen));
  Tensor a = clone(init).requires_grad_();
  Muon reference({Muon::Group{{a}, {"w"}}});
  for (const Tensor& g : grads) {
    a.set_grad(g);
    reference.step();
  }
  Tensor b = clone(init).requires_grad_();
  Muon first({Muon::Group{{b}, {"w"}}});
  for (int t = 0; t < 3; ++t) {
    b.set_grad(grads[t]);
    first.step();
  }
  const OptimizerStateDict saved = first.state_dict();
  EXPECT_EQ(saved.tensors.count("state.w.momentum_buffer"), 1u);
  Muon second({Muon::Group{{b}, {"w"}}});
  second.load_state_dict(saved);
  for (int t = 3; t < 6; ++t) {
    b.set_grad(grads[t]);
    second.step();
  }
  EXPECT_LT(relative_error(b.detach(), a.detach()), 1e-14);
}
