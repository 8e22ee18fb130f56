#include "optim/optimizer.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include "autograd/grad_mode.h"
#include "core/cuda/runtime.h"
#include "core/ops/copy.h"

namespace recgrad {

void check_option_range(const std::string& optimizer, std::size_t group_index, const std::string& option, double value,
                        double lo, double hi, bool hi_inclusive) {
  const bool ok = value >= lo && (hi_inclusive ? value <= hi : value < hi);  // false for NaN
  RG_CHECK(ok, optimizer, ": invalid ", option, " = ", value, " in param group ", group_index, " (expected ", lo,
           " <= ", option, hi_inclusive ? " <= " : " < ", hi, ")");
}

Optimizer::Optimizer(std::string name, std::vector<std::string> buffers)
    : name_(std::move(name)), buffer_names_(std::move(buffers)) {}

const Tensor& Optimizer::buffer(const ParamState& state, const std::string& buffer, std::size_t group,
                                std::size_t index) const {
  const auto it = state.buffers.find(buffer);
  RG_CHECK(it != state.buffers.end() && it->second.defined(), name_, ".step: parameter '", param_key(group, index),
           "' has taken ", state.step, " steps but has no '", buffer,
           "' state (was a state_dict of another optimizer loaded?)");
  return it->second;
}

void Optimizer::check_devices(const Tensor& param, const Tensor& grad, const ParamState* state, std::size_t group,
                              std::size_t index) const {
  const Device device = param.device();
  RG_CHECK(grad.device() == device, name_, ".step: the gradient of parameter '", param_key(group, index), "' is on ",
           grad.device(), " but the parameter is on ", device);
  if (state != nullptr) {
    for (const auto& [buffer, tensor] : state->buffers) {
      RG_CHECK(!tensor.defined() || tensor.device() == device, name_, ".step: state '", buffer, "' of parameter '",
               param_key(group, index), "' is on ", tensor.device(), " but the parameter is on ", device,
               " (move the model before creating the optimizer, or reload the state with load_state_dict, which "
               "moves it to the parameters' devices)");
    }
  }
  if (device.is_cuda() && !cuda::cuda_available()) {
    throw Error(detail::concat(name_, ".step: parameter '", param_key(group, index), "' is on ", device,
                               " but CUDA is unavailable: ", cuda::cuda_unavailable_reason()));
  }
}

void Optimizer::for_each_param_with_grad(const std::function<void(ParamStep&)>& update) {
  NoGradGuard no_grad;
  for (std::size_t g = 0; g < num_groups(); ++g) {
    const std::vector<Tensor>& params = group_params(g);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const Tensor& param = params[i];
      if (!param.grad().defined()) continue;
      check_devices(param, param.grad(), find_state(param), g, i);
      ParamStep p{g, i, param, raw::contiguous(param.grad()), state(param)};
      update(p);
      param.bump_version();
    }
  }
}

void Optimizer::zero_grad() {
  for (std::size_t g = 0; g < num_groups(); ++g) {
    for (const Tensor& param : group_params(g)) param.set_grad(Tensor());
  }
}

std::string Optimizer::param_key(std::size_t group, std::size_t index) const {
  RG_CHECK(group < num_groups() && index < group_params(group).size(), name_, ": no parameter ", index,
           " in param group ", group);
  if (!group_names(group).empty()) return group_names(group)[index];
  std::size_t position = index;
  for (std::size_t g = 0; g < group; ++g) position += group_params(g).size();
  return std::to_string(position);
}

void Optimizer::check_new_group(const std::vector<Tensor>& params, const std::vector<std::string>& group_names,
                                std::size_t group_index) const {
  RG_CHECK(!params.empty(), name_, ": param group ", group_index, " has no parameters");
  RG_CHECK(group_names.empty() || group_names.size() == params.size(), name_, ": param group ", group_index, " has ",
           params.size(), " parameters but ", group_names.size(), " names");
  std::set<const TensorImpl*> seen;
  std::set<std::string> names;
  for (std::size_t g = 0; g < num_groups(); ++g) {
    for (const Tensor& p : group_params(g)) seen.insert(p.impl_ptr().get());
    names.insert(this->group_names(g).begin(), this->group_names(g).end());
  }
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Tensor& p = params[i];
    const std::string label = group_names.empty() ? std::to_string(i) : "'" + group_names[i] + "'";
    RG_CHECK(p.defined(), name_, ": parameter ", label, " of param group ", group_index, " is undefined");
    RG_CHECK(is_floating(p.dtype()), name_, ": parameter ", label, " has dtype ", p.dtype(),
             "; only f32 and f64 tensors can be optimized");
    RG_CHECK(p.is_leaf(), name_, ": parameter ", label, " (shape ", p.shape(),
             ") is not a leaf; optimize the tensor it was computed from");
    RG_CHECK(p.is_contiguous(), name_, ": parameter ", label, " (shape ", p.shape(), ", strides ", p.strides(),
             ") is not contiguous");
    RG_CHECK(seen.insert(p.impl_ptr().get()).second, name_, ": parameter ", label,
             " appears in more than one param group (or twice in one)");
    if (!group_names.empty()) {
      RG_CHECK(names.insert(group_names[i]).second, name_, ": parameter name '", group_names[i], "' is used twice");
    }
  }
}

ParamState& Optimizer::state(const Tensor& param) { return state_[param.impl_ptr().get()]; }

const ParamState* Optimizer::find_state(const Tensor& param) const {
  const auto it = state_.find(param.impl_ptr().get());
  return it == state_.end() ? nullptr : &it->second;
}

OptimizerStateDict Optimizer::state_dict() const {
  OptimizerStateDict dict;
  for (std::size_t g = 0; g < num_groups(); ++g) {
    const std::string prefix = "param_groups." + std::to_string(g) + ".";
    save_group_options(g, prefix, dict.scalars);
    dict.scalars[prefix + "num_params"] = static_cast<double>(group_params(g).size());
    for (std::size_t i = 0; i < group_params(g).size(); ++i) {
      const ParamState* s = find_state(group_params(g)[i]);
      if (s == nullptr) continue;
      const std::string state_prefix = "state." + param_key(g, i) + ".";
      dict.scalars[state_prefix + "step"] = static_cast<double>(s->step);
      for (const auto& [buffer, tensor] : s->buffers) {
        if (tensor.defined()) dict.tensors[state_prefix + buffer] = raw::clone(tensor);
      }
    }
  }
  return dict;
}

namespace {
// Splits "<prefix><middle>.<last>" into (middle, last); false when `key` has another form.
bool split_key(const std::string& key, const std::string& prefix, std::string& middle, std::string& last) {
  if (key.compare(0, prefix.size(), prefix) != 0) return false;
  const std::size_t dot = key.rfind('.');
  if (dot == std::string::npos || dot < prefix.size() + 1) return false;
  middle = key.substr(prefix.size(), dot - prefix.size());
  last = key.substr(dot + 1);
  return true;
}
}  // namespace

void Optimizer::load_state_dict(const OptimizerStateDict& dict) {
  // Where each parameter lives, by its state_dict label.
  std::map<std::string, std::pair<std::size_t, std::size_t>> where;
  for (std::size_t g = 0; g < num_groups(); ++g) {
    for (std::size_t i = 0; i < group_params(g).size(); ++i) where[param_key(g, i)] = {g, i};
  }

  // 1. Group options: same number of groups and of parameters per group.
  std::vector<std::map<std::string, double>> options(num_groups());
  std::vector<bool> size_seen(num_groups(), false);
  std::map<std::string, std::int64_t> steps;  // param label -> step
  for (const auto& [key, value] : dict.scalars) {
    std::string middle, last;
    if (split_key(key, "param_groups.", middle, last)) {
      RG_CHECK(!middle.empty() && middle.size() < 10 && middle.find_first_not_of("0123456789") == std::string::npos,
               name_, ".load_state_dict: malformed key '", key, "'");
      const std::size_t g = std::stoul(middle);
      RG_CHECK(g < num_groups(), name_, ".load_state_dict: the state_dict has param group ", g,
               " but this optimizer has ", num_groups(), " groups");
      if (last == "num_params") {
        RG_CHECK(static_cast<std::size_t>(value) == group_params(g).size(), name_, ".load_state_dict: param group ", g,
                 " has ", group_params(g).size(), " parameters but the state_dict's has ", value);
        size_seen[g] = true;
      } else {
        options[g][last] = value;  // load_group_options rejects unknown options
      }
    } else if (split_key(key, "state.", middle, last) && last == "step") {
      RG_CHECK(where.count(middle), name_, ".load_state_dict: the state_dict has state for parameter '", middle,
               "', which this optimizer does not have");
      RG_CHECK(value >= 0 && value == std::floor(value), name_, ".load_state_dict: '", key,
               "' is not a step count: ", value);
      steps[middle] = static_cast<std::int64_t>(value);
    } else {
      throw Error(detail::concat(name_, ".load_state_dict: unexpected scalar '", key, "'"));
    }
  }
  for (std::size_t g = 0; g < num_groups(); ++g) {
    RG_CHECK(size_seen[g], name_, ".load_state_dict: the state_dict has no param group ", g, " (this optimizer has ",
             num_groups(), " groups)");
  }

  load_group_options(options, /*apply=*/false);  // throws for an unknown or invalid option

  // 2. State tensors: each belongs to a parameter with a step and has its shape.
  std::unordered_map<const TensorImpl*, ParamState> state;
  for (const auto& [label, step] : steps) {
    const auto [g, i] = where.at(label);
    state[group_params(g)[i].impl_ptr().get()].step = step;
  }
  for (const auto& [key, tensor] : dict.tensors) {
    std::string label, buffer;
    RG_CHECK(split_key(key, "state.", label, buffer), name_, ".load_state_dict: unexpected tensor '", key, "'");
    RG_CHECK(where.count(label), name_, ".load_state_dict: the state_dict has state for parameter '", label,
             "', which this optimizer does not have");
    RG_CHECK(std::find(buffer_names_.begin(), buffer_names_.end(), buffer) != buffer_names_.end(), name_,
             ".load_state_dict: unknown state '", buffer, "' in key '", key, "'");
    RG_CHECK(steps.count(label), name_, ".load_state_dict: '", key, "' has no matching 'state.", label, ".step'");
    const auto [g, i] = where.at(label);
    const Tensor& param = group_params(g)[i];
    const Shape expected = state_shape(buffer, param);
    RG_CHECK(tensor.defined() && tensor.shape() == expected, name_, ".load_state_dict: state '", buffer,
             "' of parameter '", label, "' has shape ", tensor.defined() ? tensor.shape() : Shape{}, " but needs ",
             expected, " (the parameter has shape ", param.shape(), ")");
    RG_CHECK(is_floating(tensor.dtype()), name_, ".load_state_dict: state '", buffer, "' of parameter '", label,
             "' has dtype ", tensor.dtype(), "; expected a floating dtype");
    // As torch: the state follows its parameter to the parameter's device (and dtype).
    state[param.impl_ptr().get()].buffers[buffer] =
        raw::clone(raw::to_dtype(raw::to_device(tensor, param.device()), param.dtype()));
  }

  // 3. Everything is valid: apply.
  load_group_options(options, /*apply=*/true);
  state_ = std::move(state);
}

}  // namespace recgrad
