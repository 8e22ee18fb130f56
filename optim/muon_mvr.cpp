// Muon-MVR (see muon_mvr.h): two gradient evaluations on the current batch (the
// first with every parameter and co-parameter rewound to x_{t-1}), the
// variance-reduced momentum, then Muon's orthogonalized update.
#include "optim/muon_mvr.h"

#include <cmath>
#include <unordered_set>

#include "autograd/grad_mode.h"
#include "core/factory.h"
#include "core/ops/binary.h"
#include "core/ops/copy.h"

namespace recgrad {

MuonMVR::MuonMVR(std::vector<Tensor> params, MuonOptions options) : MuonMVR({Group{std::move(params), {}, options}}) {}

MuonMVR::MuonMVR(std::vector<Group> groups, std::vector<Tensor> co_params)
    : Muon("MuonMVR", {"momentum_buffer", "previous_param"}, groups.empty() ? MuonOptions{} : groups.front().options),
      co_params_(std::move(co_params)),
      co_previous_(co_params_.size()) {
  for (Group& group : groups) add_param_group(std::move(group));
  check_matrices();
  std::unordered_set<const TensorImpl*> seen;
  for (const Group& group : param_groups()) {
    for (const Tensor& param : group.params) seen.insert(param.impl_ptr().get());
  }
  for (std::size_t i = 0; i < co_params_.size(); ++i) {
    const Tensor& co = co_params_[i];
    RG_CHECK(co.defined() && co.is_leaf(), "MuonMVR: co-parameter ", i, " must be a defined leaf tensor");
    RG_CHECK(seen.insert(co.impl_ptr().get()).second, "MuonMVR: co-parameter ", i, " (shape ", co.shape(),
             ") is one of its parameters or listed twice");
  }
}

void MuonMVR::load_co_previous(const std::vector<Tensor>& previous) {
  RG_CHECK(previous.size() == co_params_.size(), "MuonMVR.load_co_previous: ", previous.size(), " tensors for ",
           co_params_.size(), " co-parameters");
  for (std::size_t i = 0; i < previous.size(); ++i) {
    RG_CHECK(!previous[i].defined() || previous[i].shape() == co_params_[i].shape(),
             "MuonMVR.load_co_previous: co-parameter ", i, " has shape ", co_params_[i].shape(), ", the tensor ",
             previous[i].shape());
  }
  for (std::size_t i = 0; i < previous.size(); ++i) {
    const Tensor& co = co_params_[i];
    co_previous_[i] = previous[i].defined()
                          ? raw::clone(raw::to_dtype(raw::to_device(previous[i], co.device()), co.dtype()))
                          : Tensor();
  }
}

void MuonMVR::check_options(const MuonOptions& options, std::size_t g) const { check_muon_options(options, g, false); }

bool MuonMVR::saves_option(std::string_view key) const { return key != "nesterov" && key != "momentum_form"; }

void MuonMVR::step() {
  throw Error(
      "MuonMVR.step: momentum variance reduction needs the gradient at the previous parameters on the current "
      "batch; call step(closure) with a closure that recomputes the loss and calls backward");
}

Tensor MuonMVR::step(const std::function<Tensor()>& closure) {
  RG_CHECK(static_cast<bool>(closure), "MuonMVR.step: the closure is empty");

  // 1. g(x_{t-1}; xi_t): move every parameter that has taken a step, and every co-parameter, back to x_{t-1}
  //    (their values after the previous step), evaluate, move forward again.
  std::vector<std::vector<Tensor>> previous_grads;  // [group][index]; undefined when there is none
  bool any_previous = false;
  for (const Group& group : param_groups()) {
    for (const Tensor& param : group.params) {
      const ParamState* state = find_state(param);
      any_previous = any_previous || (state != nullptr && state->step > 0);
    }
  }
  if (any_previous) {
    for (std::size_t i = 0; i < co_params_.size(); ++i) {
      RG_CHECK(co_previous_[i].defined(), "MuonMVR.step: co-parameter ", i,
               " has no value at the previous point (a state was loaded without it)");
    }
    std::vector<std::pair<Tensor, Tensor>> swapped;  // (param, its current value x_t)
    {
      NoGradGuard no_grad;
      for (std::size_t g = 0; g < param_groups().size(); ++g) {
        for (std::size_t i = 0; i < param_groups()[g].params.size(); ++i) {
          const Tensor& param = param_groups()[g].params[i];
          const ParamState* state = find_state(param);
          if (state == nullptr || state->step == 0) continue;
          const Tensor& previous = buffer(*state, "previous_param", g, i);
          swapped.emplace_back(param, raw::clone(param));
          raw::copy_(param, previous);
        }
      }
      for (std::size_t i = 0; i < co_params_.size(); ++i) {
        swapped.emplace_back(co_params_[i], raw::clone(co_params_[i]));
        raw::copy_(co_params_[i], co_previous_[i]);
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
    for (const Group& group : param_groups()) {
      std::vector<Tensor>& grads = previous_grads.emplace_back();
      for (const Tensor& param : group.params) {
        grads.push_back(param.grad().defined() ? raw::clone(param.grad()) : Tensor());
      }
    }
  }

  // 2. g(x_t; xi_t).
  zero_grad();
  const Tensor loss = closure();

  // 3. The MVR momentum and Muon's update.
  for_each_param([&](const MuonOptions& o, ParamStep& p) {
    const double beta = o.momentum;
    ParamState& state = p.state;
    if (state.step == 0) {  // M_1 = g(x_1; xi_1)
      state.buffers["momentum_buffer"] = raw::clone(p.grad);
      state.buffers["previous_param"] = empty_like(p.param);
    } else {  // M_t = beta M_{t-1} + (1 - beta) g(x_t) + beta (g(x_t) - g(x_{t-1}))
      const Tensor& momentum = buffer(state, "momentum_buffer", p.group, p.index);
      raw::mul_(momentum, beta);
      raw::add_(momentum, p.grad, 1 - beta);
      const Tensor previous_grad = any_previous ? previous_grads[p.group][p.index] : Tensor();
      if (previous_grad.defined()) raw::add_(momentum, raw::sub(p.grad, previous_grad), beta);
    }
    state.step += 1;
    raw::copy_(buffer(state, "previous_param", p.group, p.index), p.param);  // x_t, for the next step's correction
    apply_orthogonalized_update(p.param, buffer(state, "momentum_buffer", p.group, p.index), state, p.group, p.index);
  });
  // 4. The co-parameters' x_t, for the next step's correction (their own optimizer has not stepped yet).
  {
    NoGradGuard no_grad;
    for (std::size_t i = 0; i < co_params_.size(); ++i) {
      if (!co_previous_[i].defined()) co_previous_[i] = empty_like(co_params_[i]);
      raw::copy_(co_previous_[i], co_params_[i]);
    }
  }
  return loss;
}

}  // namespace recgrad
