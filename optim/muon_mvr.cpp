// Muon-MVR (see muon_mvr.h): two gradient evaluations on the current batch,
// the variance-reduced momentum, then Muon's orthogonalized update.
#include "optim/muon_mvr.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "core/factory.h"
#include "core/ops/binary.h"
#include "core/ops/copy.h"

namespace recgrad {

namespace {

std::map<std::string, double> mvr_defaults(const MuonOptions& options) {
  std::map<std::string, double> map = options.to_map();
  map.erase("nesterov");
  map.erase("momentum_form");
  return map;
}

}  // namespace

MuonMVR::MuonMVR(std::vector<Tensor> params, MuonOptions options)
    : MuonMVR({ParamGroup{std::move(params), {}, {}}}, options) {}

MuonMVR::MuonMVR(std::vector<ParamGroup> groups, MuonOptions defaults)
    : Muon("MuonMVR", mvr_defaults(defaults), {"momentum_buffer", "previous_param"}, defaults) {
  add_matrix_groups(std::move(groups));
}

void MuonMVR::check_options(const ParamGroup& group, std::size_t g) const {
  check_option_range(name(), g, "lr", group.option("lr"), 0, INFINITY, false);
  check_option_range(name(), g, "momentum", group.option("momentum"), 0, 1, false);
  check_option_range(name(), g, "weight_decay", group.option("weight_decay"), 0, INFINITY, false);
  check_option_range(name(), g, "ns_eps", group.option("ns_eps"), 0, INFINITY, false);
  for (const auto& [key, count] :
       {std::pair<const char*, int>{"update_scale", 2}, {"ns_steps", 1000}, {"ns_precision", 3}}) {
    const double value = group.option(key);
    RG_CHECK(value >= 0 && value < count && value == std::floor(value), name(), ": invalid ", key, " = ", value,
             " in param group ", g, " (expected an integer in [0, ", count - 1, "])");
  }
}

void MuonMVR::step() {
  throw Error(
      "MuonMVR.step: momentum variance reduction needs the gradient at the previous parameters on the current "
      "batch; call step(closure) with a closure that recomputes the loss and calls backward");
}

Tensor MuonMVR::step(const std::function<Tensor()>& closure) {
  RG_CHECK(static_cast<bool>(closure), "MuonMVR.step: the closure is empty");
  const std::vector<ParamGroup>& groups = param_groups();

  // 1. g(x_{t-1}; xi_t): move every parameter that has taken a step back to x_{t-1}, evaluate, move forward again.
  std::vector<Tensor> previous_grads;  // per parameter, in group order; undefined when there is none
  bool any_previous = false;
  for (const ParamGroup& group : groups) {
    for (const Tensor& param : group.params) {
      const ParamState* state = find_state(param);
      any_previous = any_previous || (state != nullptr && state->step > 0);
    }
  }
  if (any_previous) {
    std::vector<std::pair<Tensor, Tensor>> swapped;  // (param, its current value x_t)
    {
      NoGradGuard no_grad;
      for (std::size_t g = 0; g < groups.size(); ++g) {
        for (std::size_t i = 0; i < groups[g].params.size(); ++i) {
          const Tensor& param = groups[g].params[i];
          const ParamState* state = find_state(param);
          if (state == nullptr || state->step == 0) continue;
          const Tensor& previous = buffer(*state, "previous_param", g, i);
          swapped.emplace_back(param, raw::clone(param));
          raw::copy_(param, previous);
        }
      }
    }
    auto restore = [&] {
      NoGradGuard no_grad;
      for (const auto& [param, current] : swapped) raw::copy_(param, current);
    };
    zero_grad();
    try {
      closure();
    } catch (...) {
      restore();
      throw;
    }
    restore();
    for (const ParamGroup& group : groups) {
      for (const Tensor& param : group.params) {
        previous_grads.push_back(param.grad().defined() ? raw::clone(param.grad()) : Tensor());
      }
    }
  }

  // 2. g(x_t; xi_t).
  zero_grad();
  const Tensor loss = closure();

  // 3. The MVR momentum and Muon's update.
  NoGradGuard no_grad;
  std::size_t position = 0;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const ParamGroup& group = groups[g];
    const double beta = group.option("momentum");
    for (std::size_t i = 0; i < group.params.size(); ++i, ++position) {
      const Tensor& param = group.params[i];
      if (!param.grad().defined()) continue;
      check_devices(param, param.grad(), find_state(param), g, i);
      const Tensor grad = raw::contiguous(param.grad());
      ParamState& state = this->state(param);
      if (state.step == 0) {  // M_1 = g(x_1; xi_1)
        state.buffers["momentum_buffer"] = raw::clone(grad);
        state.buffers["previous_param"] = empty_like(param);
      } else {  // M_t = beta M_{t-1} + (1 - beta) g(x_t) + beta (g(x_t) - g(x_{t-1}))
        const Tensor& momentum = buffer(state, "momentum_buffer", g, i);
        raw::mul_(momentum, beta);
        raw::add_(momentum, grad, 1 - beta);
        const Tensor previous_grad = any_previous ? previous_grads[position] : Tensor();
        if (previous_grad.defined()) raw::add_(momentum, raw::sub(grad, previous_grad), beta);
      }
      state.step += 1;
      raw::copy_(buffer(state, "previous_param", g, i), param);  // x_t, for the next step's correction
      apply_orthogonalized_update(param, buffer(state, "momentum_buffer", g, i), state, g, i);
    }
  }
  return loss;
}

}  // namespace recgrad
