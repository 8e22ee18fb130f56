// Muon-MVR inside the hybrid optimizer (optim/hybrid.h, HybridMuon::mvr): the
// gradient at the previous point g(x_{t-1}; xi_t) is taken with EVERY weight of
// the hybrid at x_{t-1}, the AdamW-routed ones too. Two steps of a tiny model
// against the same two steps by hand in double (explicit formulas; only the
// Newton-Schulz iteration of the hand-computed 2x2 momentum is the library's);
// the hand computation with the bias left at x_2 (the old behaviour) gives
// another matrix, so the test tells the two apart. Also: the checkpoint keeps
// the AdamW rows' previous values.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "core/ops/copy.h"
#include "optim/hybrid.h"
#include "optim_fixtures.h"
#include "recgrad.h"
#include "test_support.h"

using namespace recgrad;
using recgrad::testing::expect_error;

namespace {

using Mat = std::array<std::array<double, 2>, 2>;
using Vec = std::array<double, 2>;

// A batch of (input, target) pairs for the loss 0.5 sum_k ||W x_k + b - y_k||^2.
struct Batch {
  std::vector<Vec> x, y;
};

const std::vector<Batch> kBatches = {
    {{{1.0, 0.5}, {-0.5, 1.0}, {0.3, -0.7}}, {{0.2, -0.1}, {0.4, 0.3}, {-0.6, 0.5}}},  // xi_1
    {{{0.8, -0.2}, {0.1, 0.9}, {-1.0, 0.4}}, {{0.5, 0.1}, {-0.3, 0.7}, {0.2, -0.4}}},  // xi_2
};
const Mat kW1 = {{{0.5, -0.3}, {0.2, 0.8}}};  // x_1: the initial weights
const Vec kB1 = {0.1, -0.2};

const double kMuonLr = 0.05, kBeta = 0.9, kMuonWd = 0.01;  // Muon-MVR on W (scale sqrt(max(1, 2/2)) = 1)
const double kAdamLr = 0.1, kBeta1 = 0.9, kBeta2 = 0.999, kEps = 1e-8, kAdamWd = 0.01;  // AdamW on b

// The gradients of the loss on `batch`: r_k = W x_k + b - y_k, dW = sum_k r_k x_k^T, db = sum_k r_k.
// dW depends on b through r_k: that is what couples the two optimizers.
struct Grads {
  Mat w{};
  Vec b{};
};
Grads hand_grads(const Mat& w, const Vec& b, const Batch& batch) {
  Grads g;
  for (std::size_t k = 0; k < batch.x.size(); ++k) {
    const Vec& x = batch.x[k];
    for (int i = 0; i < 2; ++i) {
      const double r = w[i][0] * x[0] + w[i][1] * x[1] + b[i] - batch.y[k][i];
      g.b[i] += r;
      for (int j = 0; j < 2; ++j) g.w[i][j] += r * x[j];
    }
  }
  return g;
}

Tensor to_tensor(const Mat& m) { return from_vector<double>({m[0][0], m[0][1], m[1][0], m[1][1]}, {2, 2}); }

// W (1 - lr wd) - lr NewtonSchulz(M): Muon's update of a 2x2 matrix (scale 1).
Mat muon_update(const Mat& w, const Mat& momentum) {
  const std::vector<double> o =
      newton_schulz(to_tensor(momentum), {.precision = NewtonSchulzPrecision::kInputDtype}).to_vector<double>();
  Mat out;
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 2; ++j) out[i][j] = w[i][j] * (1 - kMuonLr * kMuonWd) - kMuonLr * o[2 * i + j];
  }
  return out;
}

// One AdamW step t of b with gradient g and moments m, v (adam.h's formulas).
void adamw_update(Vec& b, Vec& m, Vec& v, const Vec& g, int t) {
  for (int i = 0; i < 2; ++i) {
    b[i] *= 1 - kAdamLr * kAdamWd;
    m[i] = kBeta1 * m[i] + (1 - kBeta1) * g[i];
    v[i] = kBeta2 * v[i] + (1 - kBeta2) * g[i] * g[i];
    const double bias1 = 1 - std::pow(kBeta1, t), bias2 = 1 - std::pow(kBeta2, t);
    b[i] -= kAdamLr / bias1 * m[i] / (std::sqrt(v[i]) / std::sqrt(bias2) + kEps);
  }
}

struct HandResult {
  Mat w3;
  Vec b3;
  Mat w2;
  Vec b2;
};

// Steps 1 and 2 by hand. `bias_at_previous_point`: the previous-point gradient of step 2 is g_W(W_1, b_1; xi_2)
// (the fix); otherwise g_W(W_1, b_2; xi_2) (the bias left at its current value, the old behaviour).
HandResult hand_two_steps(bool bias_at_previous_point) {
  HandResult r;
  Vec m{}, v{};
  // Step 1 (t = 1, batch xi_1): M_1 = g_W(x_1; xi_1); W_2 = W_1 (1 - lr wd) - lr NS(M_1); b_2 = AdamW(b_1, g_b(x_1)).
  const Grads g1 = hand_grads(kW1, kB1, kBatches[0]);
  const Mat m1 = g1.w;
  r.w2 = muon_update(kW1, m1);
  r.b2 = kB1;
  adamw_update(r.b2, m, v, g1.b, 1);
  // Step 2 (t = 2, batch xi_2):
  //   G      = g_W(W_2, b_2; xi_2)                                   the current point
  //   G_prev = g_W(W_1, b_1; xi_2)                                   the previous point, both weights rewound
  //   M_2    = beta M_1 + (1 - beta) G + beta (G - G_prev)
  //   W_3    = W_2 (1 - lr wd) - lr NS(M_2);  b_3 = AdamW(b_2, g_b(W_2, b_2; xi_2))
  const Grads g2 = hand_grads(r.w2, r.b2, kBatches[1]);
  const Grads previous = hand_grads(kW1, bias_at_previous_point ? kB1 : r.b2, kBatches[1]);
  Mat m2;
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 2; ++j) {
      m2[i][j] = kBeta * m1[i][j] + (1 - kBeta) * g2.w[i][j] + kBeta * (g2.w[i][j] - previous.w[i][j]);
    }
  }
  r.w3 = muon_update(r.w2, m2);
  r.b3 = r.b2;
  adamw_update(r.b3, m, v, g2.b, 2);
  return r;
}

// The tiny model under the hybrid: W [2, 2] routed to Muon-MVR, b [2] to AdamW.
struct TinyModel {
  Tensor w = to_tensor(kW1).requires_grad_();
  Tensor b = from_vector<double>({kB1[0], kB1[1]}, {2}).requires_grad_();
  int batch = 0;
  std::vector<std::pair<std::vector<double>, std::vector<double>>> seen;  // (W, b) at each closure call

  HybridOptimizer make_hybrid() const {
    RoutingTable table;
    const auto add_row = [&](const std::string& name, const Tensor& param, ParameterRole role, OptimizerKind kind,
                             double lr, double weight_decay) {
      RoutedParameter row;
      row.name = name;
      row.param = param;
      row.role = role;
      row.optimizer = kind;
      row.lr = lr;
      row.weight_decay = weight_decay;
      table.rows.push_back(row);
    };
    add_row("w", w, ParameterRole::hidden, OptimizerKind::muon, kMuonLr, kMuonWd);
    add_row("b", b, ParameterRole::bias, OptimizerKind::adamw, kAdamLr, kAdamWd);
    return HybridOptimizer(table, MuonOptions{.momentum = kBeta, .ns_precision = NewtonSchulzPrecision::kInputDtype},
                           AdamWOptions{.beta1 = kBeta1, .beta2 = kBeta2, .eps = kEps}, HybridMuon::mvr);
  }

  // loss = 0.5 sum_k ||W x_k + b - y_k||^2 on the current batch.
  Tensor closure() {
    seen.emplace_back(w.to_vector<double>(), b.to_vector<double>());
    w.set_grad(Tensor());
    b.set_grad(Tensor());
    const Batch& data = kBatches[batch];
    std::vector<double> x, y;
    for (std::size_t k = 0; k < data.x.size(); ++k) {
      x.insert(x.end(), data.x[k].begin(), data.x[k].end());
      y.insert(y.end(), data.y[k].begin(), data.y[k].end());
    }
    const std::int64_t n = static_cast<std::int64_t>(data.x.size());
    const Tensor r = matmul(from_vector<double>(x, {n, 2}), transpose(w, 0, 1)) + b - from_vector<double>(y, {n, 2});
    const Tensor loss = 0.5 * sum(r * r);
    loss.backward();
    return loss;
  }
};

std::vector<double> flat(const Mat& m) { return {m[0][0], m[0][1], m[1][0], m[1][1]}; }

}  // namespace

TEST(MuonMVRHybrid, PreviousPointGradientRewindsTheAdamWWeightsToo) {
  TinyModel model;
  HybridOptimizer hybrid = model.make_hybrid();
  for (int t = 1; t <= 2; ++t) {
    model.batch = t - 1;
    hybrid.step([&] { return model.closure(); });
  }

  const HandResult fixed = hand_two_steps(true), old = hand_two_steps(false);
  // The closure ran at x_1 (step 1), then at x_1 with BOTH weights rewound and at x_2 (step 2).
  ASSERT_EQ(model.seen.size(), 3u);
  const std::vector<double> w1 = flat(kW1), b1 = {kB1[0], kB1[1]}, w2 = flat(fixed.w2), b2 = {fixed.b2[0], fixed.b2[1]};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(model.seen[1].first[i], w1[i]) << i;  // W at x_1 exactly (copied back from the kept value)
    EXPECT_NEAR(model.seen[2].first[i], w2[i], 1e-12) << i;
  }
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(model.seen[1].second[i], b1[i]) << i;  // b at x_1 too, not at x_2
    EXPECT_NEAR(model.seen[2].second[i], b2[i], 1e-12) << i;
  }

  // W_3 and b_3 as computed by hand, to 1e-12.
  const std::vector<double> w = model.w.to_vector<double>(), b = model.b.to_vector<double>();
  const std::vector<double> w3 = flat(fixed.w3), w3_old = flat(old.w3);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(w[i], w3[i], 1e-12) << i;
  for (int i = 0; i < 2; ++i) EXPECT_NEAR(b[i], fixed.b3[i], 1e-12) << i;
  // The bias moved in step 1, and with it at x_2 the correction (hence W_3) would differ: G_prev - G_prev_old =
  // (b_1 - b_2) (sum_k x_k)^T on xi_2. The hybrid's W_3 is not the old one.
  EXPECT_GT(std::abs(fixed.b2[0] - kB1[0]), 0.05);
  double old_difference = 0, hybrid_to_old = 0;
  for (int i = 0; i < 4; ++i) {
    old_difference = std::max(old_difference, std::abs(w3[i] - w3_old[i]));
    hybrid_to_old = std::max(hybrid_to_old, std::abs(w[i] - w3_old[i]));
  }
  EXPECT_GT(old_difference, 1e-5);
  EXPECT_GT(hybrid_to_old, 1e-5);
  // The AdamW step used the gradient at the current point x_2: .grad holds it after step().
  const Grads g2 = hand_grads(fixed.w2, fixed.b2, kBatches[1]);
  for (int i = 0; i < 2; ++i) EXPECT_NEAR(model.b.grad().to_vector<double>()[i], g2.b[i], 1e-12) << i;
}

TEST(MuonMVRHybrid, StateDictKeepsTheAdamWWeightsPreviousValues) {
  TinyModel a;
  HybridOptimizer hybrid_a = a.make_hybrid();
  EXPECT_EQ(hybrid_a.state_dict().tensors.count("mvr.state.b.previous_param"), 0u);  // nothing before a step
  hybrid_a.step([&] { return a.closure(); });
  const OptimizerStateDict dict = hybrid_a.state_dict();
  ASSERT_EQ(dict.tensors.count("mvr.state.b.previous_param"), 1u);
  EXPECT_EQ(dict.tensors.at("mvr.state.b.previous_param").to_vector<double>(), (std::vector<double>{kB1[0], kB1[1]}));

  // A second model at a's weights after step 1, resumed from the dict: step 2 lands where a's does.
  TinyModel b;
  {
    NoGradGuard no_grad;
    raw::copy_(b.w, a.w);
    raw::copy_(b.b, a.b);
  }
  HybridOptimizer hybrid_b = b.make_hybrid();
  OptimizerStateDict without = dict;
  without.tensors.erase("mvr.state.b.previous_param");
  expect_error([&] { hybrid_b.load_state_dict(without); }, {"HybridOptimizer", "previous values", "AdamW"});
  OptimizerStateDict stray = dict;
  stray.tensors["mvr.state.nothing.previous_param"] = zeros({2}, {DType::f64});
  expect_error([&] { hybrid_b.load_state_dict(stray); }, {"HybridOptimizer", "mvr."});
  hybrid_b.load_state_dict(dict);
  a.batch = b.batch = 1;
  hybrid_a.step([&] { return a.closure(); });
  hybrid_b.step([&] { return b.closure(); });
  EXPECT_EQ(b.w.to_vector<double>(), a.w.to_vector<double>());
  EXPECT_EQ(b.b.to_vector<double>(), a.b.to_vector<double>());
  EXPECT_EQ(b.seen.back().second, a.seen.back().second);
  EXPECT_EQ(b.seen[b.seen.size() - 2].second, (std::vector<double>{kB1[0], kB1[1]}));  // rewound to b_1
}
