// The Muon variants and Lion: Muon's momentum and scale variants, a per-step
// coefficient schedule and NorMuon against the PyTorch reference
// (tests/data/optim/muon_variants.json, from tests/fixtures/make_muon_fixtures.py);
// NorMuon and Lion against their formulas by hand on tiny cases (torch 1.13 has
// no Lion); Muon-MVR's closure protocol, its recursion on a stochastic
// quadratic (with the gradient at the previous point on the CURRENT batch), and
// its reduction to Muon when the gradient does not change.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <memory>
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

const std::vector<std::string> kAllNames = {"fc1.weight", "fc1.bias",   "fc2.weight",
                                            "fc2.bias",   "fc3.weight", "fc3.bias"};

// The fixtures' MLP (see make_muon_fixtures.py); only the Muon parameters are stepped here.
double variant_trajectory_error(const json& fixture, const std::string& variant, DType dtype) {
  std::map<std::string, Tensor> params;
  for (const std::string& name : kAllNames) {
    params[name] = tensor_from_json(fixture.at("initial").at(name), dtype).requires_grad_();
  }
  const Tensor x = tensor_from_json(fixture.at("x"), dtype), target = tensor_from_json(fixture.at("target"), dtype);
  const json& settings = fixture.at("variants").at(variant).at("settings");
  const json& mo = fixture.at("muon_options");
  MuonOptions options{.lr = mo.at("lr"), .momentum = mo.at("momentum"), .weight_decay = mo.at("weight_decay")};
  options.ns_coefficients.clear();
  for (const auto& c : settings.at("coefficients")) options.ns_coefficients.push_back({c.at(0), c.at(1), c.at(2)});
  const std::vector<Tensor> params_2d = {params["fc1.weight"], params["fc2.weight"]};
  const std::vector<std::string> names = {"fc1.weight", "fc2.weight"};
  std::unique_ptr<Optimizer> opt;
  if (settings.contains("normuon_beta2")) {
    opt = std::make_unique<NorMuon>(std::vector<NorMuon::Group>{
        {params_2d, names, NorMuonOptions{.muon = options, .beta2 = settings.at("normuon_beta2")}}});
  } else {
    options.nesterov = settings.at("nesterov");
    options.momentum_form = settings.at("summed").get<bool>() ? MuonMomentumForm::kSummed : MuonMomentumForm::kEma;
    options.update_scale =
        settings.at("scale_rule") == "original" ? MuonUpdateScale::kOriginal : MuonUpdateScale::kMatchAdamWRms;
    opt = std::make_unique<Muon>(std::vector<Muon::Group>{{params_2d, names, options}});
  }
  const json& run = fixture.at("variants").at(variant).at(dtype == DType::f64 ? "f64" : "f32");
  const auto losses = run.at("losses").get<std::vector<double>>();
  double worst = 0;
  for (int step = 1; step <= fixture.at("steps").get<int>(); ++step) {
    for (auto& [name, p] : params) p.set_grad(Tensor());
    const std::int64_t start = (8 * (step - 1)) % 32;
    Tensor h = tanh(linear(narrow(x, 0, start, 8), params["fc1.weight"], params["fc1.bias"]));
    h = tanh(linear(h, reshape(params["fc2.weight"], {12, 16}), params["fc2.bias"]));
    const Tensor loss = mse_loss(linear(h, params["fc3.weight"], params["fc3.bias"]), narrow(target, 0, start, 8));
    loss.backward();
    opt->step();
    worst = std::max(worst, std::abs(loss.item<double>() - losses.at(step - 1)) / std::abs(losses.at(step - 1)));
    const std::string key = std::to_string(step);
    if (!run.at("checkpoints").contains(key)) continue;
    for (const std::string name : {"fc1.weight", "fc2.weight"}) {
      worst = std::max(
          worst, relative_error(params[name], tensor_from_json(run.at("checkpoints").at(key).at(name), DType::f64)));
    }
  }
  return worst;
}

class MuonVariant : public ::testing::TestWithParam<std::string> {};

}  // namespace

// ---------------------------------------------------------------- against torch

TEST_P(MuonVariant, MatchesTorchReference) {
  const json fixture = load_optim_fixture("muon_variants");
  const double e64 = variant_trajectory_error(fixture, GetParam(), DType::f64);
  const double e32 = variant_trajectory_error(fixture, GetParam(), DType::f32);
  std::cout << "  " << GetParam() << ": worst relative error over 10 steps f64 " << e64 << ", f32 " << e32 << "\n";
  EXPECT_LT(e64, 1e-9);
  EXPECT_LT(e32, 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Variants, MuonVariant,
                         ::testing::Values("summed_nesterov", "ema_plain", "match_adamw_rms", "polar_express",
                                           "normuon"));

TEST(MuonVariantFixtures, VariantsDifferFromEachOther) {
  const json fixture = load_optim_fixture("muon_variants");
  const auto final_weight = [&](const std::string& v) {
    return tensor_from_json(fixture.at("variants").at(v).at("f64").at("checkpoints").at("10").at("fc1.weight"),
                            DType::f64);
  };
  const std::vector<std::string> names = {"summed_nesterov", "ema_plain", "match_adamw_rms", "polar_express",
                                          "normuon"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    for (std::size_t j = i + 1; j < names.size(); ++j) {
      EXPECT_GT(relative_error(final_weight(names[i]), final_weight(names[j])), 1e-3) << names[i] << " " << names[j];
    }
  }
}

// ---------------------------------------------------------------- NorMuon by hand

TEST(NorMuon, StepMatchesHandFormula) {
  // ns_steps = 0: O = U / (||U|| + ns_eps); then the row normalization, written out here.
  const std::vector<double> w0 = {0.5, -0.2, 0.1, 0.3, -0.4, 0.25};  // [2, 3]
  const std::vector<std::vector<double>> grads = {{0.1, 0.2, -0.3, 0.4, 0.05, -0.1}, {-0.2, 0.1, 0.3, 0.0, 0.2, 0.9}};
  const double lr = 0.1, beta = 0.9, beta2 = 0.8, wd = 0.05, ns_eps = 1e-7, eps = 1e-10;
  Tensor w = from_vector<double>(w0, {2, 3}).requires_grad_();
  NorMuon opt({w},
              NorMuonOptions{.muon = {.lr = lr, .momentum = beta, .weight_decay = wd, .ns_steps = 0, .ns_eps = ns_eps},
                             .beta2 = beta2});
  std::vector<double> expected = w0, m(6, 0.0), v(2, 0.0);
  for (const auto& g : grads) {
    w.set_grad(from_vector<double>(g, {2, 3}));
    opt.step();
    std::vector<double> u(6), o(6);
    double norm_u = 0;
    for (int k = 0; k < 6; ++k) {
      m[k] = beta * m[k] + (1 - beta) * g[k];
      u[k] = (1 - beta) * g[k] + beta * m[k];
      norm_u += u[k] * u[k];
    }
    norm_u = std::sqrt(norm_u);
    double norm_o = 0, norm_o2 = 0;
    for (int k = 0; k < 6; ++k) {
      o[k] = u[k] / (norm_u + ns_eps);
      norm_o += o[k] * o[k];
    }
    for (int r = 0; r < 2; ++r) {
      double mean_square = 0;
      for (int c = 0; c < 3; ++c) mean_square += o[r * 3 + c] * o[r * 3 + c] / 3;
      v[r] = beta2 * v[r] + (1 - beta2) * mean_square;
    }
    std::vector<double> o2(6);
    for (int k = 0; k < 6; ++k) {
      o2[k] = o[k] / (std::sqrt(v[k / 3]) + eps);
      norm_o2 += o2[k] * o2[k];
    }
    const double rescale = std::sqrt(norm_o) / (std::sqrt(norm_o2) + eps);
    for (int k = 0; k < 6; ++k) expected[k] = expected[k] * (1 - lr * wd) - lr * 1.0 * o2[k] * rescale;
  }
  const auto got = w.detach().to_vector<double>();
  for (int k = 0; k < 6; ++k) EXPECT_NEAR(got[k], expected[k], 1e-13) << k;
  const Tensor& second = opt.find_state(w)->buffers.at("second_momentum_buffer");
  EXPECT_EQ(second.shape(), Shape({2, 1}));
  EXPECT_NEAR(second.to_vector<double>()[1], v[1], 1e-15);
  // The second row had the larger gradient: NorMuon equalizes the rows' update RMS, Muon would not.
  EXPECT_NE(opt.describe().find("beta2=0.8"), std::string::npos) << opt.describe();
}

// ---------------------------------------------------------------- Lion by hand

TEST(Lion, StepMatchesHandFormula) {
  const std::vector<double> p0 = {0.5, -0.2, 0.1, 0.0};
  const std::vector<std::vector<double>> grads = {{0.3, -0.1, 0.0, 2.0}, {-0.5, 0.2, 0.0, -0.1}, {0.1, 0.1, 0.0, 0.1}};
  const double lr = 0.01, beta1 = 0.8, beta2 = 0.95, wd = 0.5;
  for (const DType dtype : {DType::f64, DType::f32}) {
    Tensor p = to_dtype(from_vector<double>(p0, {4}), dtype).detach().requires_grad_();
    Lion opt({p}, LionOptions{.lr = lr, .beta1 = beta1, .beta2 = beta2, .weight_decay = wd});
    std::vector<double> expected = p0, m(4, 0.0);
    for (const auto& g : grads) {
      p.set_grad(to_dtype(from_vector<double>(g, {4}), dtype));
      opt.step();
      for (int k = 0; k < 4; ++k) {
        const double c = beta1 * m[k] + (1 - beta1) * g[k];
        const double sign = c > 0 ? 1 : c < 0 ? -1 : 0;
        expected[k] = expected[k] - lr * (sign + wd * expected[k]);
        m[k] = beta2 * m[k] + (1 - beta2) * g[k];
      }
    }
    const auto got = p.detach().to_vector<double>();
    for (int k = 0; k < 4; ++k) EXPECT_NEAR(got[k], expected[k], dtype == DType::f64 ? 1e-15 : 1e-7) << k;
    // Element 3: the gradient flipped sign at step 2 but the interpolation 0.8 * m + 0.2 * g kept it positive.
    EXPECT_NEAR(opt.find_state(p)->buffers.at("exp_avg").to_vector<double>()[3], m[3], 1e-7);
  }
}

TEST(Lion, RejectsBadOptionsAndDescribes) {
  const Tensor p = zeros({3}).requires_grad_();
  expect_error([&] { Lion opt({p}, LionOptions{.beta1 = 1.5}); }, {"Lion", "beta1"});
  expect_error([&] { Lion opt({p}, LionOptions{.weight_decay = -1}); }, {"Lion", "weight_decay"});
  Lion opt({p});
  EXPECT_NE(opt.describe().find("lr=0.0001 beta1=0.9 beta2=0.99 weight_decay=0"), std::string::npos) << opt.describe();
}

// ---------------------------------------------------------------- Muon-MVR

namespace {

// A stochastic least-squares problem: batch k has loss 0.5 ||A_k W - B_k||_F^2 for W [3, 2],
// gradient A_k^T (A_k W - B_k); three different batches.
struct StochasticQuadratic {
  std::vector<Tensor> a, b;
  StochasticQuadratic() {
    Generator gen(99);
    for (int k = 0; k < 3; ++k) {
      a.push_back(randn({4, 3}, {DType::f64}, &gen));
      b.push_back(randn({4, 2}, {DType::f64}, &gen));
    }
  }
  Tensor loss(const Tensor& w, int batch) const {
    const Tensor r = matmul(a[batch], w) - b[batch];
    return 0.5 * sum(r * r);
  }
  Tensor grad(const Tensor& w, int batch) const {
    return matmul(transpose(a[batch], 0, 1), matmul(a[batch], w) - b[batch]);
  }
};

}  // namespace

TEST(MuonMVR, RecursionUsesThePreviousPointOnTheCurrentBatch) {
  const StochasticQuadratic problem;
  Generator gen(3);
  const Tensor w0 = randn({3, 2}, {DType::f64}, &gen);
  const double lr = 0.05, beta = 0.9, wd = 0.01;
  const MuonOptions options{.lr = lr, .momentum = beta, .weight_decay = wd};
  Tensor w = clone(w0).requires_grad_();
  MuonMVR opt({w}, options);
  int batch = 0, calls = 0;
  const auto closure = [&] {
    ++calls;
    w.set_grad(Tensor());
    const Tensor loss = problem.loss(w, batch);
    loss.backward();
    return loss;
  };

  const NewtonSchulzOptions ns{.precision = NewtonSchulzPrecision::kInputDtype};
  const double scale = std::sqrt(1.5);  // [3, 2]
  Tensor w_hand = w0, w_prev, m;
  const int steps = 6;
  for (int t = 1; t <= steps; ++t) {
    batch = t % 3;
    const Tensor loss = opt.step(closure);
    EXPECT_NEAR(loss.item<double>(), problem.loss(w_hand, batch).item<double>(), 1e-12);
    const Tensor g = problem.grad(w_hand, batch);
    // After step(), .grad is the gradient at x_t (before the update), as after a plain backward.
    EXPECT_LT(relative_error(w.grad(), g), 1e-12) << "step " << t;
    if (t == 1) {
      m = g;
    } else {
      m = beta * m + (1 - beta) * g + beta * (g - problem.grad(w_prev, batch));
    }
    w_prev = w_hand;
    w_hand = w_hand * (1 - lr * wd) - lr * scale * newton_schulz(m, ns);
    EXPECT_LT(relative_error(opt.find_state(w)->buffers.at("momentum_buffer"), m), 1e-12) << "step " << t;
    EXPECT_LT(relative_error(w.detach(), w_hand), 1e-12) << "step " << t;
  }
  EXPECT_EQ(calls, 1 + 2 * (steps - 1));  // once on the first step, twice after
  EXPECT_EQ(opt.find_state(w)->step, steps);
}

TEST(MuonMVR, EqualsMuonWhenTheGradientDoesNotChangeButNotOtherwise) {
  Generator gen(4);
  const Tensor w0 = randn({4, 6}, {DType::f64}, &gen), c = randn({4, 6}, {DType::f64}, &gen);
  const MuonOptions options{.lr = 0.3, .momentum = 0.9, .weight_decay = 0.0};
  const auto run = [&](bool linear_loss, bool mvr) {
    Tensor w = clone(w0).requires_grad_();
    const auto closure = [&] {
      w.set_grad(Tensor());
      const Tensor loss = linear_loss ? sum(c * w) : 0.5 * sum(square(w - c));
      loss.backward();
      return loss;
    };
    if (mvr) {
      MuonMVR opt({w}, options);
      for (int t = 0; t < 10; ++t) opt.step(closure);
    } else {
      Muon opt({w}, options);
      for (int t = 0; t < 10; ++t) {
        closure();
        opt.step();
      }
    }
    return w.detach();
  };
  // Linear loss: g(x_t) = g(x_{t-1}), the correction is exactly 0 and every momentum is a multiple of c.
  EXPECT_LT(relative_error(run(true, true), run(true, false)), 1e-6);
  // Quadratic: the gradient changes along the path and the correction changes the trajectory.
  EXPECT_GT(relative_error(run(false, true), run(false, false)), 1e-2);
}

TEST(MuonMVR, NeedsAClosureAndRestoresParametersWhenItThrows) {
  Tensor w = ones({2, 3}).requires_grad_();
  MuonMVR opt({w});
  w.set_grad(ones({2, 3}));
  expect_error([&] { opt.step(); }, {"MuonMVR", "closure"});
  int calls = 0;
  const auto closure = [&] {
    ++calls;
    w.set_grad(Tensor());
    const Tensor loss = sum(w * w);
    loss.backward();
    return loss;
  };
  opt.step(closure);
  const Tensor after_first = clone(w.detach());
  expect_error([&] { opt.step([&]() -> Tensor { throw Error("closure failed"); }); }, {"closure failed"});
  EXPECT_EQ(relative_error(w.detach(), after_first), 0.0);  // x_t, not x_{t-1}
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(opt.describe().find("nesterov"), std::string::npos) << opt.describe();
  expect_error([&] { load_group_options(opt, {{"nesterov", 1}}); }, {"MuonMVR", "unknown option"});
  EXPECT_EQ(opt.state_dict().scalars.count("param_groups.0.nesterov"), 0u);
}

TEST(NorMuon, StateDictRoundTripKeepsThePerRowSecondMoment) {
  manual_seed(3);
  Tensor w = randn({6, 4}).requires_grad_();
  Tensor conv = randn({3, 2, 2, 2}).requires_grad_();  // flattened to [3, 8]: its second moment is [3, 1]
  NorMuon opt({w, conv});
  for (int step = 0; step < 2; ++step) {
    w.set_grad(randn({6, 4}));
    conv.set_grad(randn({3, 2, 2, 2}));
    opt.step();
  }
  const OptimizerStateDict saved = opt.state_dict();
  NorMuon restored({w, conv});
  restored.load_state_dict(saved);
  EXPECT_EQ(restored.find_state(conv)->buffers.at("second_momentum_buffer").shape(), Shape({3, 1}));
  // a buffer of the wrong shape is still refused, naming the shape it needs
  OptimizerStateDict broken = saved;
  for (auto& [key, tensor] : broken.tensors) {
    if (key.find("second_momentum_buffer") != std::string::npos) tensor = zeros({7, 1});
  }
  expect_error([&] { restored.load_state_dict(broken); }, {"second_momentum_buffer", "needs"});
}
