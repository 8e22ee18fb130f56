// SGD, Adam and AdamW: single steps against hand-computed numbers, longer runs
// against a scalar reference of the torch algorithms, param groups, skipping
// parameters without gradients, and every error the constructors throw.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/cuda/runtime.h"
#include "optim/adam.h"
#include "optim/adamw.h"
#include "optim/clip_grad.h"
#include "optim/sgd.h"
#include "optim_fixtures.h"
#include "recgrad.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::testing;

namespace {

// A leaf parameter holding `values` (f64 unless asked).
Tensor param(const std::vector<double>& values, DType dtype = DType::f64) {
  return to_dtype(from_vector<double>(values), dtype).detach().requires_grad_();
}

void set_grad(const Tensor& p, const std::vector<double>& values) {
  p.set_grad(to_dtype(from_vector<double>(values, p.shape()), p.dtype()));
}

// The Adam/AdamW algorithm of the torch documentation, one scalar at a time.
struct ReferenceAdam {
  double lr, beta1, beta2, eps, weight_decay;
  bool decoupled, amsgrad;
  double m = 0, v = 0, v_max = 0;
  int t = 0;

  double step(double p, double g) {
    ++t;
    if (decoupled) {
      p *= 1 - lr * weight_decay;
    } else {
      g += weight_decay * p;
    }
    m = beta1 * m + (1 - beta1) * g;
    v = beta2 * v + (1 - beta2) * g * g;
    v_max = std::max(v_max, v);
    const double m_hat = m / (1 - std::pow(beta1, t));
    const double v_hat = (amsgrad ? v_max : v) / (1 - std::pow(beta2, t));
    // torch adds eps to sqrt(v) / sqrt(1 - beta2^t) = sqrt(v_hat), as the paper does.
    return p - lr * m_hat / (std::sqrt(v_hat) + eps);
  }
};

}  // namespace

// ---------------------------------------------------------------- SGD

TEST(SGD, NesterovWithWeightDecayHandComputed) {
  for (DType dtype : {DType::f64, DType::f32}) {
    Tensor p = param({1.0}, dtype);
    SGD opt({p}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
    // step 1: d = 0.5 + 0.01*1 = 0.51; buf = 0.51; d = 0.51 + 0.9*0.51 = 0.969; p = 1 - 0.0969
    set_grad(p, {0.5});
    opt.step();
    EXPECT_NEAR(p.item<double>(), 0.9031, dtype == DType::f64 ? 1e-15 : 1e-7);
    // step 2: d = 0.5 + 0.009031 = 0.509031; buf = 0.9*0.51 + 0.509031 = 0.968031;
    //         d = 0.509031 + 0.9*0.968031 = 1.3802589; p = 0.9031 - 0.13802589
    set_grad(p, {0.5});
    opt.step();
    EXPECT_NEAR(p.item<double>(), 0.76507411, dtype == DType::f64 ? 1e-15 : 1e-7);
    EXPECT_NEAR(opt.find_state(p)->buffers.at("momentum_buffer").item<double>(), 0.968031, 1e-7);
  }
}

TEST(SGD, FirstStepBufferIsTheGradientThenDampened) {
  Tensor p = param({1.0, -2.0});
  SGD opt({p}, {.lr = 0.1, .momentum = 0.9, .dampening = 0.5});
  set_grad(p, {1.0, 2.0});
  opt.step();  // buf = g (no dampening on the first step); p = p - 0.1 * g
  EXPECT_EQ(p.to_vector<double>(), (std::vector<double>{0.9, -2.2}));
  set_grad(p, {1.0, 2.0});
  opt.step();  // buf = 0.9 * g + 0.5 * g = 1.4 g; p -= 0.14 g
  const auto v = p.to_vector<double>();
  EXPECT_NEAR(v[0], 0.76, 1e-15);
  EXPECT_NEAR(v[1], -2.48, 1e-15);
}

TEST(SGD, PlainStepKeepsNoBuffer) {
  Tensor p = param({3.0});
  SGD opt({p}, {.lr = 0.5});
  set_grad(p, {2.0});
  opt.step();
  EXPECT_EQ(p.item<double>(), 2.0);
  ASSERT_NE(opt.find_state(p), nullptr);
  EXPECT_EQ(opt.find_state(p)->step, 1);
  EXPECT_TRUE(opt.find_state(p)->buffers.empty());
}

// ---------------------------------------------------------------- Adam / AdamW

TEST(AdamW, FirstStepHandComputed) {
  // p = 1 * (1 - 0.1*0.1) = 0.99; m = 0.05; v = 0.00025; m_hat = 0.5; sqrt(v_hat) = 0.5
  // p = 0.99 - 0.1 * 0.5 / (0.5 + 1e-8) = 0.89 (+2e-9)
  for (DType dtype : {DType::f64, DType::f32}) {
    Tensor p = param({1.0, 1.0}, dtype);
    AdamW opt({p}, {.lr = 0.1, .weight_decay = 0.1});
    set_grad(p, {0.5, -0.5});
    opt.step();
    const auto v = p.to_vector<double>();
    EXPECT_NEAR(v[0], 0.99 - 0.1 * 0.5 / (0.5 + 1e-8), dtype == DType::f64 ? 1e-15 : 1e-7);
    EXPECT_NEAR(v[1], 0.99 + 0.1 * 0.5 / (0.5 + 1e-8), dtype == DType::f64 ? 1e-15 : 1e-7);
    const ParamState* state = opt.find_state(p);
    ASSERT_NE(state, nullptr);
    EXPECT_EQ(state->step, 1);
    EXPECT_NEAR(state->buffers.at("exp_avg").to_vector<double>()[0], 0.05, 1e-8);
    EXPECT_NEAR(state->buffers.at("exp_avg_sq").to_vector<double>()[0], 0.00025, 1e-10);
    EXPECT_EQ(state->buffers.count("max_exp_avg_sq"), 0u);
  }
}

TEST(Adam, FirstStepHandComputedWithCoupledDecay) {
  // g = 0.5 + 0.1 * 2 = 0.7; the first Adam step moves by lr * sign(g): p = 2 - 0.1 (up to eps)
  Tensor p = param({2.0});
  Adam opt({p}, {.lr = 0.1, .weight_decay = 0.1});
  set_grad(p, {0.5});
  opt.step();
  EXPECT_NEAR(p.item<double>(), 2.0 - 0.1 * 0.7 / (0.7 + 1e-8), 1e-15);
  EXPECT_NEAR(opt.find_state(p)->buffers.at("exp_avg").item<double>(), 0.07, 1e-15);
}

TEST(AdamW, MatchesReferenceOverManySteps) {
  for (bool amsgrad : {false, true}) {
    for (bool decoupled : {true, false}) {
      manual_seed(7);
      const std::vector<double> start = randn({5}, {DType::f64}).to_vector<double>();
      Tensor p = param(start);
      std::unique_ptr<Optimizer> opt;
      if (decoupled) {
        opt = std::make_unique<AdamW>(
            std::vector<Tensor>{p},
            AdamWOptions{
                .lr = 0.05, .beta1 = 0.8, .beta2 = 0.95, .eps = 1e-6, .weight_decay = 0.2, .amsgrad = amsgrad});
      } else {
        opt = std::make_unique<Adam>(
            std::vector<Tensor>{p},
            AdamOptions{.lr = 0.05, .beta1 = 0.8, .beta2 = 0.95, .eps = 1e-6, .weight_decay = 0.2, .amsgrad = amsgrad});
      }
      std::vector<ReferenceAdam> reference(5, ReferenceAdam{0.05, 0.8, 0.95, 1e-6, 0.2, decoupled, amsgrad});
      std::vector<double> expected = start;
      for (int step = 0; step < 30; ++step) {
        // Gradients that shrink, so amsgrad's max differs from v.
        const std::vector<double> grad = mul(randn({5}, {DType::f64}), 3.0 / (1 + step)).to_vector<double>();
        set_grad(p, grad);
        opt->step();
        for (int i = 0; i < 5; ++i) expected[i] = reference[i].step(expected[i], grad[i]);
      }
      const auto got = p.to_vector<double>();
      for (int i = 0; i < 5; ++i) {
        EXPECT_NEAR(got[i], expected[i], 1e-12 * (1 + std::abs(expected[i])))
            << "amsgrad " << amsgrad << " decoupled " << decoupled << " element " << i;
      }
      EXPECT_EQ(opt->find_state(p)->buffers.count("max_exp_avg_sq"), amsgrad ? 1u : 0u);
    }
  }
}

TEST(AdamW, MinimizesAQuadraticThroughAutograd) {
  // loss = sum((x - target)^2) has its minimum at x = target.
  Tensor x = param({5.0, -3.0, 0.5});
  const Tensor target = from_vector<double>({1.0, 2.0, -1.0});
  AdamW opt({x}, {.lr = 0.05, .weight_decay = 0.0});
  for (int step = 0; step < 500; ++step) {
    opt.zero_grad();
    Tensor diff = x - target;
    sum(diff * diff).backward();
    opt.step();
  }
  const auto v = x.to_vector<double>();
  EXPECT_NEAR(v[0], 1.0, 1e-2);
  EXPECT_NEAR(v[1], 2.0, 1e-2);
  EXPECT_NEAR(v[2], -1.0, 1e-2);
  EXPECT_TRUE(x.is_leaf());
}

TEST(AdamW, NonContiguousGradient) {
  Tensor p2 = zeros({2, 3}, {DType::f64}).requires_grad_();
  Tensor dense2 = zeros({2, 3}, {DType::f64}).requires_grad_();
  // The same gradient, once as a transposed (non-contiguous) view, once dense.
  Tensor g = transpose(from_vector<double>({1, -4, 2, 5, -3, 6}, {3, 2}), 0, 1);
  ASSERT_FALSE(g.is_contiguous());
  p2.set_grad(g);
  dense2.set_grad(contiguous(g));
  AdamW a({p2}, {.lr = 0.1});
  AdamW b({dense2}, {.lr = 0.1});
  a.step();
  b.step();
  EXPECT_EQ(p2.to_vector<double>(), dense2.to_vector<double>());
  // g = [[1, 2, -3], [-4, 5, 6]]: a first Adam step from 0 moves by -lr * sign(g).
  const std::vector<double> expected{-0.1, -0.1, 0.1, 0.1, -0.1, -0.1};
  const auto got = p2.to_vector<double>();
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(got[i], expected[i], 1e-8) << i;
}

// ---------------------------------------------------------------- shared behaviour

TEST(Optimizer, SkipsParametersWithoutGradient) {
  Tensor a = param({1.0});
  Tensor b = param({1.0});
  AdamW opt({a, b}, {.lr = 0.1});
  set_grad(a, {1.0});
  opt.step();
  EXPECT_NE(a.item<double>(), 1.0);
  EXPECT_EQ(b.item<double>(), 1.0);  // no grad: untouched, not even weight decay
  EXPECT_EQ(opt.find_state(b), nullptr);
  EXPECT_EQ(opt.find_state(a)->step, 1);
}

TEST(Optimizer, ZeroGradMakesGradientsUndefined) {
  Tensor a = param({1.0, 2.0});
  SGD opt({a}, {.lr = 0.1});
  sum(a * a).backward();
  ASSERT_TRUE(a.grad().defined());
  opt.zero_grad();
  EXPECT_FALSE(a.grad().defined());
  // The next backward starts afresh instead of accumulating: grad = 2a.
  sum(a * a).backward();
  EXPECT_EQ(a.grad().to_vector<double>(), (std::vector<double>{2.0, 4.0}));
}

TEST(Optimizer, StepBumpsTheParameterVersion) {
  Tensor a = param({1.0});
  SGD opt({a}, {.lr = 0.1});
  set_grad(a, {1.0});
  const auto before = a.version();
  opt.step();
  EXPECT_GT(a.version(), before);
}

TEST(Optimizer, ParamGroupsHaveTheirOwnLearningRate) {
  Tensor fast = param({1.0});
  Tensor slow = param({1.0});
  const SGDOptions defaults{.lr = 0.01};
  SGD opt({SGD::Group{{fast}, {"fast"}, {.lr = 0.5}}, SGD::Group{{slow}, {"slow"}, defaults}});
  ASSERT_EQ(opt.param_groups().size(), 2u);
  EXPECT_EQ(opt.param_groups()[1].options.lr, 0.01);  // the defaults given
  EXPECT_EQ(opt.param_groups()[0].options.momentum, 0.0);
  set_grad(fast, {1.0});
  set_grad(slow, {1.0});
  opt.step();
  EXPECT_EQ(fast.item<double>(), 0.5);
  EXPECT_EQ(slow.item<double>(), 0.99);
  // Changing a group's option takes effect at the next step.
  opt.param_groups()[1].options.lr = 0.1;
  opt.step();
  EXPECT_NEAR(slow.item<double>(), 0.89, 1e-15);
  // A group added later.
  Tensor late = param({1.0});
  opt.add_param_group({{late}, {"late"}, {.lr = 1.0}});
  set_grad(late, {0.25});
  opt.step();
  EXPECT_EQ(late.item<double>(), 0.75);
  EXPECT_EQ(opt.param_key(2, 0), "late");
}

TEST(Optimizer, ParamKeysAreNamesOrPositions) {
  Tensor a = param({1.0}), b = param({1.0}), c = param({1.0});
  Adam opt({Adam::Group{{a, b}}, Adam::Group{{c}}});
  EXPECT_EQ(opt.param_key(0, 1), "1");
  EXPECT_EQ(opt.param_key(1, 0), "2");
  EXPECT_THROW(opt.param_key(1, 1), Error);
}

// ---------------------------------------------------------------- errors

TEST(OptimizerErrors, BadHyperparameters) {
  Tensor p = param({1.0});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  expect_error([&] { AdamW({p}, {.lr = -0.1}); }, {"AdamW", "lr", "-0.1"});
  expect_error([&] { AdamW({p}, {.lr = nan}); }, {"AdamW", "lr"});
  expect_error([&] { AdamW({p}, {.beta1 = 1.0}); }, {"AdamW", "beta1", "1"});
  expect_error([&] { AdamW({p}, {.beta2 = -0.5}); }, {"AdamW", "beta2", "-0.5"});
  expect_error([&] { Adam({p}, {.beta2 = 1.5}); }, {"Adam", "beta2", "1.5"});
  expect_error([&] { Adam({p}, {.eps = -1e-8}); }, {"Adam", "eps"});
  expect_error([&] { AdamW({p}, {.weight_decay = -1}); }, {"AdamW", "weight_decay"});
  expect_error([&] { SGD({p}, {.lr = -1}); }, {"SGD", "lr"});
  expect_error([&] { SGD({p}, {.momentum = -0.9}); }, {"SGD", "momentum"});
  expect_error([&] { SGD({p}, {.lr = 0.1, .nesterov = true}); }, {"SGD", "Nesterov", "momentum"});
  expect_error([&] { SGD({p}, {.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .nesterov = true}); },
               {"SGD", "Nesterov", "dampening"});
  // A group's own bad value names the group.
  expect_error([&] { AdamW({AdamW::Group{{p}, {}, {.beta1 = 2.0}}}); }, {"AdamW", "beta1", "param group 0"});
  // Options by name (as a checkpoint names them): an unknown name is refused.
  expect_error(
      [&] {
        AdamW opt({p});
        load_group_options(opt, {{"betas", 0.9}});
      },
      {"AdamW", "unknown option", "betas"});
  // Valid edge values do not throw.
  EXPECT_NO_THROW(AdamW({p}, {.lr = 0.0, .beta1 = 0.0, .eps = 0.0, .weight_decay = 0.0}));
}

TEST(OptimizerErrors, BadParameters) {
  Tensor leaf = param({1.0, 2.0});
  Tensor computed = leaf * 2.0;  // has a grad_fn
  expect_error([&] { SGD({computed}); }, {"SGD", "not a leaf", "[2]"});
  expect_error([&] { SGD({from_vector<std::int64_t>({1, 2})}); }, {"SGD", "i64"});
  expect_error([&] { SGD({Tensor()}); }, {"SGD", "undefined"});
  expect_error([&] { SGD({leaf, leaf}); }, {"SGD", "more than one"});
  expect_error([&] { SGD(std::vector<Tensor>{}); }, {"SGD", "no parameters"});
  expect_error([&] { AdamW({AdamW::Group{{leaf}, {"a", "b"}}}); }, {"AdamW", "1 parameters but 2 names"});
  Tensor other = param({3.0});
  expect_error([&] { AdamW({AdamW::Group{{leaf}, {"w"}}, AdamW::Group{{other}, {"w"}}}); }, {"AdamW", "'w'", "twice"});
  Tensor transposed = transpose(zeros({2, 3}, {DType::f64}), 0, 1).detach();
  expect_error([&] { Adam({transposed}); }, {"Adam", "not contiguous", "[3, 2]"});
  // Adding a parameter a second time through add_param_group.
  SGD opt({leaf}, {.lr = 0.1});
  expect_error([&] { opt.add_param_group({{leaf}, {}, {}}); }, {"SGD", "more than one"});
  EXPECT_EQ(opt.param_groups().size(), 1u);
}

TEST(OptimizerErrors, DevicesWithoutAKernelThrow) {
  if (cuda::cuda_available()) GTEST_SKIP() << "a GPU is present: the fake CUDA tensor below would reach a kernel";
  // A tensor that claims to live on a GPU (its memory is really host memory, never
  // touched): the step must refuse it with a clear message, not write through it.
  static double host[2] = {1.0, 2.0};
  static double host_grad[2] = {0.5, 0.5};
  auto storage = std::make_shared<Storage>(host, sizeof(host), Device::cuda(0), nullptr);
  auto grad_storage = std::make_shared<Storage>(host_grad, sizeof(host_grad), Device::cuda(0), nullptr);
  Tensor p = Tensor::from_storage(storage, {2}, {1}, 0, DType::f64).requires_grad_();
  p.set_grad(Tensor::from_storage(grad_storage, {2}, {1}, 0, DType::f64));
  SGD opt({SGD::Group{{p}, {"gpu.weight"}, {.lr = 0.1}}});
  expect_error([&] { opt.step(); }, {"SGD.step", "'gpu.weight'", "cuda:0", "CUDA is unavailable"});
  EXPECT_EQ(host[0], 1.0);
  EXPECT_THROW(clip_grad_norm_({p}, 1.0), Error);
}
