// Optimizer: the part every optimizer shares. It holds parameter groups (each
// with its own hyperparameters), the per-parameter state (step count and
// buffers such as Adam's exp_avg), zero_grad, and a flat state_dict that
// saves and restores all of it. A concrete optimizer (sgd.h, adam.h, adamw.h)
// only writes `step()` and says which hyperparameters it accepts.
//
//   AdamW opt({w1, b1, w2, b2}, {.lr = 1e-3, .weight_decay = 0.1});
//   for (...) { opt.zero_grad(); loss(...).backward(); opt.step(); }
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/tensor.h"

namespace recgrad {

/// A set of parameters that share hyperparameters. `options` holds numbers
/// by name ("lr", "weight_decay", "beta1", ...; booleans as 0/1); keys left
/// out take the optimizer's defaults. `names` is optional: empty, or one
/// unique name per parameter (e.g. "blocks.0.attn.q_proj.weight"); the names
/// label the parameter in the state_dict and in error messages.
struct ParamGroup {
  std::vector<Tensor> params;
  std::vector<std::string> names;
  std::map<std::string, double> options;

  /// The value of option `key`; throws when the group does not have it.
  double option(const std::string& key) const;
};

/// What an optimizer remembers about one parameter: how many updates it has
/// received and its named buffers ("exp_avg", "exp_avg_sq", "max_exp_avg_sq",
/// "momentum_buffer"), each shaped like the parameter.
struct ParamState {
  std::int64_t step = 0;
  std::map<std::string, Tensor> buffers;
};

/// A snapshot of an optimizer under flat names, so that it can be saved next to
/// a model (safetensors holds the tensors, its metadata the scalars):
///   tensors["state.<param>.<buffer>"]     e.g. "state.fc1.weight.exp_avg"
///   scalars["state.<param>.step"]         the parameter's update count
///   scalars["param_groups.<g>.<option>"]  e.g. "param_groups.0.lr"
///   scalars["param_groups.<g>.num_params"]
/// <param> is the parameter's name, or its position over all groups ("0",
/// "1", ...) when its group has no names.
struct OptimizerStateDict {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, double> scalars;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// One update of every parameter that has a gradient (parameters whose grad
  /// is undefined are skipped and their state is left alone). Runs without
  /// recording an autograd graph.
  virtual void step() = 0;

  /// Sets every parameter's gradient to undefined (the next backward writes a
  /// fresh one instead of accumulating).
  void zero_grad();

  /// Adds a group; options it leaves out take this optimizer's defaults.
  /// Throws when an option is unknown or out of range, when a parameter is not a
  /// contiguous floating leaf, or when a parameter already belongs to a group.
  void add_param_group(ParamGroup group);
  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }
  /// The hyperparameters a group gets when it leaves them out.
  const std::map<std::string, double>& defaults() const { return defaults_; }

  /// The state of `param` (created empty on first use).
  ParamState& state(const Tensor& param);
  /// The state of `param`, or null when it has none yet.
  const ParamState* find_state(const Tensor& param) const;

  /// A deep copy of the state and of every group's options (see OptimizerStateDict).
  /// The state tensors stay on their parameters' devices (move them to the CPU to save them).
  OptimizerStateDict state_dict() const;
  /// Replaces the state and the groups' options with those of `dict`, which must
  /// come from an optimizer with the same groups, parameter names and shapes.
  /// Tensors are copied to each parameter's device and converted to its dtype (so
  /// a state saved from a GPU run loads into a CPU one and back). Everything is
  /// checked before anything changes: a bad dict leaves this optimizer as it was.
  void load_state_dict(const OptimizerStateDict& dict);

  /// "SGD", "Adam", "AdamW": used in error messages.
  const std::string& name() const { return name_; }
  /// The label of parameter `index` of group `group` in the state_dict and in
  /// messages: its name, or its position over all groups.
  std::string param_key(std::size_t group, std::size_t index) const;

 protected:
  /// `defaults` lists every option the optimizer accepts, with its default;
  /// `buffers` names every state buffer it keeps (load_state_dict rejects others).
  Optimizer(std::string name, std::map<std::string, double> defaults, std::vector<std::string> buffers);
  /// Buffer `buffer` of the state of parameter `index` of group `group`; throws
  /// when it is missing (e.g. a state_dict of another optimizer was loaded).
  const Tensor& buffer(const ParamState& state, const std::string& buffer, std::size_t group, std::size_t index) const;
  /// Throws naming the parameter unless its gradient and every buffer of its
  /// `state` (null when it has none yet) are on the parameter's device, and, for
  /// a CUDA parameter, unless CUDA is usable. step() calls it before touching state.
  void check_devices(const Tensor& param, const Tensor& grad, const ParamState* state, std::size_t group,
                     std::size_t index) const;
  /// Throws a recgrad::Error naming the optimizer, the group and the option when
  /// an option of `group` (complete, defaults filled in) is out of range.
  virtual void check_options(const ParamGroup& group, std::size_t group_index) const = 0;
  /// The shape of state buffer `buffer` of `param` (load_state_dict checks it): the parameter's shape unless an
  /// optimizer keeps a differently shaped buffer (NorMuon's per-row second moment).
  virtual Shape state_shape(const std::string& buffer, const Tensor& param) const {
    (void)buffer;
    return param.shape();
  }

 private:
  std::string name_;
  std::map<std::string, double> defaults_;
  std::vector<std::string> buffer_names_;
  std::vector<ParamGroup> groups_;
  std::unordered_map<const TensorImpl*, ParamState> state_;
};

/// Throws "<optimizer>: <option> = <value> ..." unless lo <= value (< or <=) hi.
/// Shared by the optimizers' check_options.
void check_option_range(const std::string& optimizer, std::size_t group_index, const std::string& option, double value,
                        double lo, double hi, bool hi_inclusive);

/// Throws the error an optimizer step gives for a parameter on a device that
/// has no kernel for it in this build (CUDA without the CUDA backend).
[[noreturn]] void throw_no_kernel(const std::string& optimizer, const std::string& param, Device device);

}  // namespace recgrad
