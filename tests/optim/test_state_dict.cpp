// Optimizer::state_dict / load_state_dict: the flat layout, deep copies,
// bit-identical resumption for every optimizer, and the errors of a bad dict.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <memory>

#include "optim/adam.h"
#include "optim/adamw.h"
#include "optim/lr_schedule.h"
#include "optim/sgd.h"
#include "recgrad.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::testing;

namespace {

// Two parameters and a loss sum(c * (w - a)^2) + sum(b^4), whose gradients
// change from step to step.
struct Problem {
  Tensor w, b;
  Tensor a = from_vector<double>({1.0, -2.0, 0.5, 3.0, -1.0, 2.0}, {2, 3});
  Tensor c = from_vector<double>({1.0, 4.0, 0.5, 2.0, 1.0, 3.0}, {2, 3});

  explicit Problem(DType dtype) {
    manual_seed(3);
    w = randn({2, 3}, {dtype}).requires_grad_();
    b = randn({3}, {dtype}).requires_grad_();
    a = to_dtype(a, dtype);
    c = to_dtype(c, dtype);
  }
  // A copy of the current parameter values as fresh leaves.
  Problem snapshot() const {
    Problem copy = *this;
    copy.w = clone(w).detach().requires_grad_();
    copy.b = clone(b).detach().requires_grad_();
    return copy;
  }
  // Two groups with `defaults`, the first with lr 0.03.
  template <typename Options>
  std::vector<ParamGroup<Options>> groups(Options defaults = {}) const {
    Options first = defaults;
    first.lr = 0.03;
    return {{{w}, {"w"}, first}, {{b}, {"b"}, defaults}};
  }
  void train(Optimizer& opt, int steps) const {
    for (int s = 0; s < steps; ++s) {
      opt.zero_grad();
      Tensor d = w - a;
      Tensor b2 = b * b;
      (sum(c * d * d) + sum(b2 * b2)).backward();
      opt.step();
    }
  }
};

// The bytes of a tensor's elements, for bit-exact comparison.
std::vector<unsigned char> bytes(const Tensor& t) {
  const Tensor dense = contiguous(t);
  std::vector<unsigned char> out(static_cast<std::size_t>(dense.numel()) * element_size(dense.dtype()));
  std::memcpy(out.data(), dense.raw_data(), out.size());
  return out;
}

using MakeOptimizer = std::function<std::unique_ptr<Optimizer>(const Problem&)>;

std::vector<std::pair<std::string, MakeOptimizer>> all_optimizers() {
  return {
      {"SGD",
       [](const Problem& p) {
         return std::make_unique<SGD>(
             p.groups(SGDOptions{.lr = 0.01, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true}));
       }},
      {"Adam",
       [](const Problem& p) {
         return std::make_unique<Adam>(p.groups(AdamOptions{.lr = 0.01, .weight_decay = 0.01}));
       }},
      {"AdamW",
       [](const Problem& p) {
         return std::make_unique<AdamW>(p.groups(AdamWOptions{.lr = 0.01, .weight_decay = 0.1}));
       }},
      {"AdamW-amsgrad",
       [](const Problem& p) {
         return std::make_unique<AdamW>(p.groups(AdamWOptions{.lr = 0.01, .weight_decay = 0.1, .amsgrad = true}));
       }},
  };
}

}  // namespace

TEST(StateDict, ResumingGivesABitIdenticalTrajectory) {
  for (DType dtype : {DType::f64, DType::f32}) {
    for (const auto& [name, make] : all_optimizers()) {
      SCOPED_TRACE(name + " " + std::string(dtype_name(dtype)));
      // Run A: 12 steps without stopping, checkpointing after 5 (with a schedule on the lr).
      Problem run_a(dtype);
      auto opt_a = make(run_a);
      set_lr_factor(*opt_a, 0.5);
      run_a.train(*opt_a, 5);
      const Problem checkpoint = run_a.snapshot();
      const OptimizerStateDict saved = opt_a->state_dict();
      run_a.train(*opt_a, 7);

      // Run B: a fresh optimizer (other lr) on the checkpointed values, loaded, then 7 steps.
      Problem run_b = checkpoint.snapshot();
      auto opt_b = make(run_b);
      opt_b->set_lr(0, 123.0);  // overwritten by the load
      opt_b->load_state_dict(saved);
      EXPECT_EQ(opt_b->lr(0), opt_a->lr(0));
      run_b.train(*opt_b, 7);

      EXPECT_EQ(bytes(run_a.w), bytes(run_b.w));
      EXPECT_EQ(bytes(run_a.b), bytes(run_b.b));
      const OptimizerStateDict end_a = opt_a->state_dict(), end_b = opt_b->state_dict();
      EXPECT_EQ(end_a.scalars, end_b.scalars);
      ASSERT_EQ(end_a.tensors.size(), end_b.tensors.size());
      for (const auto& [key, tensor] : end_a.tensors) EXPECT_EQ(bytes(tensor), bytes(end_b.tensors.at(key))) << key;

      // And the checkpoint really was mid-run: the parameters moved after it.
      EXPECT_NE(bytes(run_a.w), bytes(checkpoint.w));
    }
  }
}

TEST(StateDict, FlatLayout) {
  Problem problem(DType::f64);
  AdamW opt(problem.groups(AdamWOptions{.lr = 0.01, .amsgrad = true}));
  problem.train(opt, 3);
  const OptimizerStateDict dict = opt.state_dict();
  EXPECT_EQ(dict.scalars.at("state.w.step"), 3.0);
  EXPECT_EQ(dict.scalars.at("state.b.step"), 3.0);
  EXPECT_EQ(dict.scalars.at("param_groups.0.lr"), 0.03);
  EXPECT_EQ(dict.scalars.at("param_groups.1.lr"), 0.01);
  EXPECT_EQ(dict.scalars.at("param_groups.1.beta2"), 0.999);
  EXPECT_EQ(dict.scalars.at("param_groups.0.amsgrad"), 1.0);
  EXPECT_EQ(dict.scalars.at("param_groups.0.num_params"), 1.0);
  EXPECT_EQ(dict.tensors.at("state.w.exp_avg").shape(), (Shape{2, 3}));
  EXPECT_EQ(dict.tensors.at("state.b.exp_avg_sq").shape(), (Shape{3}));
  EXPECT_EQ(dict.tensors.at("state.b.max_exp_avg_sq").shape(), (Shape{3}));
  EXPECT_EQ(dict.tensors.size(), 6u);
  // Unnamed parameters are labelled by their position over all groups.
  Tensor x = zeros({2}, {DType::f64}).requires_grad_(), y = zeros({1}, {DType::f64}).requires_grad_();
  const SGDOptions options{.lr = 0.1, .momentum = 0.5};
  SGD sgd({SGD::Group{{x}, {}, options}, SGD::Group{{y}, {}, options}});
  x.set_grad(ones({2}, {DType::f64}));
  y.set_grad(ones({1}, {DType::f64}));
  sgd.step();
  const OptimizerStateDict sgd_dict = sgd.state_dict();
  EXPECT_EQ(sgd_dict.tensors.count("state.0.momentum_buffer"), 1u);
  EXPECT_EQ(sgd_dict.tensors.count("state.1.momentum_buffer"), 1u);
  EXPECT_EQ(sgd_dict.scalars.at("state.1.step"), 1.0);
}

TEST(StateDict, IsADeepCopy) {
  Problem problem(DType::f64);
  Adam opt(problem.groups<AdamOptions>());
  problem.train(opt, 2);
  const OptimizerStateDict dict = opt.state_dict();
  const auto before = bytes(dict.tensors.at("state.w.exp_avg"));
  problem.train(opt, 2);
  EXPECT_EQ(bytes(dict.tensors.at("state.w.exp_avg")), before);
  EXPECT_FALSE(dict.tensors.at("state.w.exp_avg").shares_storage(opt.find_state(problem.w)->buffers.at("exp_avg")));
  // Loading copies too: training after the load leaves the dict alone.
  Problem other = problem.snapshot();
  Adam loaded(other.groups<AdamOptions>());
  loaded.load_state_dict(dict);
  other.train(loaded, 1);
  EXPECT_EQ(bytes(dict.tensors.at("state.w.exp_avg")), before);
}

TEST(StateDict, LoadConvertsDtype) {
  Problem wide(DType::f64);
  AdamW opt64(wide.groups<AdamWOptions>());
  wide.train(opt64, 2);
  Problem narrow(DType::f32);
  AdamW opt32(narrow.groups<AdamWOptions>());
  opt32.load_state_dict(opt64.state_dict());
  EXPECT_EQ(opt32.find_state(narrow.w)->buffers.at("exp_avg").dtype(), DType::f32);
  EXPECT_EQ(opt32.find_state(narrow.w)->step, 2);
  EXPECT_NO_THROW(narrow.train(opt32, 1));
}

TEST(StateDictErrors, BadDictsNameTheProblemAndChangeNothing) {
  Problem problem(DType::f64);
  AdamW opt(problem.groups(AdamWOptions{.lr = 0.01}));
  problem.train(opt, 2);
  const OptimizerStateDict good = opt.state_dict();
  const auto state_before = bytes(opt.find_state(problem.w)->buffers.at("exp_avg"));

  OptimizerStateDict wrong_shape = good;
  wrong_shape.tensors["state.w.exp_avg"] = zeros({3, 2}, {DType::f64});
  expect_error([&] { opt.load_state_dict(wrong_shape); }, {"AdamW", "'w'", "exp_avg", "[3, 2]", "[2, 3]"});

  OptimizerStateDict unknown_param = good;
  unknown_param.tensors["state.v.exp_avg"] = zeros({2, 3}, {DType::f64});
  unknown_param.scalars["state.v.step"] = 1;
  expect_error([&] { opt.load_state_dict(unknown_param); }, {"AdamW", "'v'", "does not have"});

  OptimizerStateDict no_step = good;
  no_step.scalars.erase("state.b.step");
  expect_error([&] { opt.load_state_dict(no_step); }, {"AdamW", "state.b.exp_avg", "state.b.step"});

  OptimizerStateDict bad_lr = good;
  bad_lr.scalars["param_groups.1.lr"] = -1;
  bad_lr.scalars["param_groups.0.lr"] = 0.5;
  expect_error([&] { opt.load_state_dict(bad_lr); }, {"AdamW", "lr", "-1", "param group 1"});

  OptimizerStateDict extra_group = good;
  extra_group.scalars["param_groups.2.lr"] = 0.1;
  expect_error([&] { opt.load_state_dict(extra_group); }, {"AdamW", "param group 2", "2 groups"});

  OptimizerStateDict missing_group = good;
  for (auto it = missing_group.scalars.begin(); it != missing_group.scalars.end();) {
    it = it->first.rfind("param_groups.1.", 0) == 0 ? missing_group.scalars.erase(it) : std::next(it);
  }
  expect_error([&] { opt.load_state_dict(missing_group); }, {"AdamW", "no param group 1"});

  OptimizerStateDict wrong_size = good;
  wrong_size.scalars["param_groups.0.num_params"] = 2;
  expect_error([&] { opt.load_state_dict(wrong_size); }, {"AdamW", "param group 0", "1 parameters"});

  OptimizerStateDict unknown_option = good;
  unknown_option.scalars["param_groups.0.momentum"] = 0.9;
  expect_error([&] { opt.load_state_dict(unknown_option); }, {"AdamW", "unknown option", "momentum"});

  OptimizerStateDict malformed = good;
  malformed.scalars["param_groups.x.lr"] = 0.1;
  expect_error([&] { opt.load_state_dict(malformed); }, {"AdamW", "malformed", "param_groups.x.lr"});

  OptimizerStateDict fractional_step = good;
  fractional_step.scalars["state.w.step"] = 1.5;
  expect_error([&] { opt.load_state_dict(fractional_step); }, {"AdamW", "state.w.step", "1.5"});

  OptimizerStateDict stray = good;
  stray.scalars["epoch"] = 3;
  expect_error([&] { opt.load_state_dict(stray); }, {"AdamW", "unexpected", "epoch"});

  // Nothing changed: same options and state, and the good dict still loads.
  EXPECT_EQ(opt.param_groups()[0].options.lr, 0.03);
  EXPECT_EQ(opt.param_groups()[1].options.lr, 0.01);
  EXPECT_EQ(bytes(opt.find_state(problem.w)->buffers.at("exp_avg")), state_before);
  EXPECT_NO_THROW(opt.load_state_dict(good));
}

TEST(StateDictErrors, StateOfAnotherOptimizer) {
  Problem problem(DType::f64);
  SGD sgd(problem.groups(SGDOptions{.lr = 0.01, .momentum = 0.9}));
  problem.train(sgd, 1);
  AdamW adamw(problem.groups<AdamWOptions>());
  expect_error([&] { adamw.load_state_dict(sgd.state_dict()); }, {"AdamW", "unknown option"});
  problem.train(adamw, 1);
  OptimizerStateDict foreign_buffer = adamw.state_dict();
  foreign_buffer.tensors["state.w.momentum_buffer"] = sgd.state_dict().tensors.at("state.w.momentum_buffer");
  expect_error([&] { adamw.load_state_dict(foreign_buffer); }, {"AdamW", "unknown state 'momentum_buffer'"});
  // A dict with a step but no buffers (e.g. hand-built) loads, and the step says what is missing.
  OptimizerStateDict steps_only;
  steps_only.scalars = {{"param_groups.0.num_params", 1}, {"param_groups.1.num_params", 1}, {"state.w.step", 4}};
  adamw.load_state_dict(steps_only);
  problem.w.set_grad(ones({2, 3}, {DType::f64}));
  expect_error([&] { adamw.step(); }, {"AdamW.step", "'w'", "4 steps", "exp_avg"});
}
