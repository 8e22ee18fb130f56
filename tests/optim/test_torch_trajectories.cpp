// Reproduces PyTorch optimizer trajectories step for step. The fixtures
// (tests/data/optim/*.json, written by tests/fixtures/make_optim_fixtures.py
// with torch.optim, foreach=False) hold a 2-layer tanh MLP, its data, and the
// weights after steps 1, 10, 50 and 100 of SGD, Adam and AdamW. Here recgrad
// trains the same model from the same weights and must land on the same
// weights: in f64 to ~1e-14 (asserted at 1e-5 per checkpoint, 1e-9 overall), in
// f32 to float rounding (~1e-6, asserted at 1e-5).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "optim/adam.h"
#include "optim/adamw.h"
#include "optim/sgd.h"
#include "optim_fixtures.h"
#include "recgrad.h"

using namespace recgrad;
using json = nlohmann::json;
using recgrad::testing::load_group_options;
using recgrad::testing::load_optim_fixture;
using recgrad::testing::relative_error;
using recgrad::testing::tensor_from_json;

namespace {

const std::vector<std::string> kParamNames = {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"};

// The fixture's optimizer over `params` (one group with `names`), its options read by name from the
// fixture through load_state_dict (the one place options come from names and numbers).
std::unique_ptr<Optimizer> make_optimizer(const std::string& kind, std::vector<Tensor> params,
                                          std::vector<std::string> names,
                                          const std::map<std::string, double>& options) {
  std::unique_ptr<Optimizer> opt;
  if (kind == "SGD") opt = std::make_unique<SGD>(std::vector<SGD::Group>{{std::move(params), std::move(names)}});
  if (kind == "Adam") opt = std::make_unique<Adam>(std::vector<Adam::Group>{{std::move(params), std::move(names)}});
  if (kind == "AdamW") opt = std::make_unique<AdamW>(std::vector<AdamW::Group>{{std::move(params), std::move(names)}});
  if (!opt) throw std::runtime_error("unknown optimizer " + kind);
  load_group_options(*opt, options);
  return opt;
}

// Trains the fixture's MLP with recgrad in `dtype` and returns the worst relative
// error over the checkpointed weights and the per-step losses.
double worst_trajectory_error(const json& fixture, DType dtype) {
  const std::string precision = dtype == DType::f64 ? "f64" : "f32";
  const Tensor x = tensor_from_json(fixture.at("x"), dtype);
  const Tensor target = tensor_from_json(fixture.at("target"), dtype);
  std::map<std::string, Tensor> params;
  std::vector<Tensor> group;
  for (const std::string& name : kParamNames) {
    params[name] = tensor_from_json(fixture.at("initial").at(name), dtype).requires_grad_();
    group.push_back(params[name]);
  }
  std::unique_ptr<Optimizer> opt = make_optimizer(fixture.at("optimizer").get<std::string>(), group, kParamNames,
                                                  fixture.at("options").get<std::map<std::string, double>>());

  const json& run = fixture.at(precision);
  const auto losses = run.at("losses").get<std::vector<double>>();
  const int steps = fixture.at("steps").get<int>();
  double worst = 0;
  for (int step = 1; step <= steps; ++step) {
    opt->zero_grad();
    const Tensor h = tanh(linear(x, params["fc1.weight"], params["fc1.bias"]));
    const Tensor diff = linear(h, params["fc2.weight"], params["fc2.bias"]) - target;
    const Tensor loss = mean(diff * diff);
    loss.backward();
    opt->step();
    const double torch_loss = losses.at(static_cast<std::size_t>(step - 1));
    worst = std::max(worst, std::abs(loss.item<double>() - torch_loss) / std::abs(torch_loss));
    const std::string key = std::to_string(step);
    if (!run.at("checkpoints").contains(key)) continue;
    for (const std::string& name : kParamNames) {
      const Tensor expected = tensor_from_json(run.at("checkpoints").at(key).at(name), DType::f64);
      const double error = relative_error(params[name], expected);
      worst = std::max(worst, error);
      EXPECT_LT(error, 1e-5) << name << " after step " << step;
    }
  }
  return worst;
}

class TorchTrajectory : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(TorchTrajectory, Float64MatchesTorch) {
  const json fixture = load_optim_fixture(GetParam());
  const double worst = worst_trajectory_error(fixture, DType::f64);
  std::cout << "  " << GetParam() << " f64: worst relative error over 100 steps " << worst << "\n";
  EXPECT_LT(worst, 1e-9);  // observed ~1e-14: the same arithmetic up to summation order in the GEMMs
}

TEST_P(TorchTrajectory, Float32MatchesTorch) {
  const json fixture = load_optim_fixture(GetParam());
  const double worst = worst_trajectory_error(fixture, DType::f32);
  std::cout << "  " << GetParam() << " f32: worst relative error over 100 steps " << worst << "\n";
  EXPECT_LT(worst, 1e-5);  // observed ~1e-6: float rounding
}

INSTANTIATE_TEST_SUITE_P(Optimizers, TorchTrajectory,
                         ::testing::Values("sgd_nesterov", "sgd_dampening", "adam", "adamw", "adamw_amsgrad"));

// The fixtures really move: the weights after 100 steps are far from the start,
// so matching them is evidence and not a coincidence of tiny steps.
TEST(TorchTrajectoryFixtures, WeightsMoveAndLossFalls) {
  for (const std::string name : {"sgd_nesterov", "sgd_dampening", "adam", "adamw", "adamw_amsgrad"}) {
    const json fixture = load_optim_fixture(name);
    const Tensor start = tensor_from_json(fixture.at("initial").at("fc1.weight"), DType::f64);
    const Tensor end = tensor_from_json(fixture.at("f64").at("checkpoints").at("100").at("fc1.weight"), DType::f64);
    EXPECT_GT(relative_error(end, start), 0.05) << name;
    const auto losses = fixture.at("f64").at("losses").get<std::vector<double>>();
    EXPECT_LT(losses.back(), 0.5 * losses.front()) << name;
  }
}
