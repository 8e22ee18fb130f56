// Optimizer: the part every optimizer shares. It holds the per-parameter state
// (step count and buffers such as Adam's exp_avg), zero_grad, the walk over the
// parameters that step() uses, and a flat state_dict that saves and restores all
// of it. TypedOptimizer<Options> adds the parameter groups: each group carries
// the optimizer's options struct (AdamOptions, SGDOptions, ...), whose member
// initialisers are the optimizer's defaults. A concrete optimizer (sgd.h,
// adam.h, lion.h, muon.h) only writes `step()` and checks its options.
//
//   AdamW opt({w1, b1, w2, b2}, {.lr = 1e-3, .weight_decay = 0.1});        one group
//   SGD sgd({SGD::Group{{w}, {"w"}, {.lr = 0.1}}, SGD::Group{{b}, {"b"}, {.lr = 0.01}}});
//   sgd.param_groups()[1].options.momentum = 0.9;                           typed, per group
//   for (...) { opt.zero_grad(); loss(...).backward(); opt.step(); }
//
// Options stay typed everywhere (enums are enums, booleans booleans); only
// state_dict / load_state_dict turn them into names and numbers, through the
// options struct's for_each_option (the one list of each struct's names).
#pragma once

#include <cmath>
#include <concepts>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"

namespace recgrad {

/// A set of parameters that share hyperparameters. `names` is optional: empty,
/// or one unique name per parameter (e.g. "blocks.0.attn.q_proj.weight"); the
/// names label the parameter in the state_dict and in error messages.
template <typename Options>
struct ParamGroup {
  std::vector<Tensor> params{};
  std::vector<std::string> names{};
  Options options{};
  /// The lr before any schedule: set_lr_factor (lr_schedule.h) records it on its first call (as torch's
  /// schedulers record "initial_lr"); the state_dict keeps it.
  std::optional<double> initial_lr = std::nullopt;
};

/// What an optimizer remembers about one parameter: how many updates it has
/// received and its named buffers ("exp_avg", "exp_avg_sq", "max_exp_avg_sq",
/// "momentum_buffer"), each shaped like the parameter unless the optimizer says otherwise.
struct ParamState {
  std::int64_t step = 0;
  std::map<std::string, Tensor> buffers;
};

/// A snapshot of an optimizer under flat names, so that it can be saved next to
/// a model (safetensors holds the tensors, its metadata the scalars):
///   tensors["state.<param>.<buffer>"]     e.g. "state.fc1.weight.exp_avg"
///   scalars["state.<param>.step"]         the parameter's update count
///   scalars["param_groups.<g>.<option>"]  e.g. "param_groups.0.lr" (booleans 0/1, enums their number)
///   scalars["param_groups.<g>.initial_lr"] when a schedule has recorded it
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

  /// The groups, without their options (TypedOptimizer::param_groups has them).
  virtual std::size_t num_groups() const = 0;
  virtual const std::vector<Tensor>& group_params(std::size_t group) const = 0;
  /// The learning rate of group `group`.
  virtual double lr(std::size_t group) const = 0;
  virtual void set_lr(std::size_t group, double lr) = 0;
  /// Every group's lr becomes schedule(its initial_lr) (initial_lr recorded from its lr on the first call):
  /// how a schedule with a per-group form (cosine annealing to an absolute eta_min) sets the lrs.
  virtual void set_lr_from_base(const std::function<double(double initial_lr)>& schedule) = 0;
  /// Every group's lr becomes factor * its initial_lr.
  void set_lr_factor(double factor) {
    set_lr_from_base([factor](double initial_lr) { return initial_lr * factor; });
  }

  /// The state of `param` (created empty on first use).
  ParamState& state(const Tensor& param);
  /// The state of `param`, or null when it has none yet.
  const ParamState* find_state(const Tensor& param) const;

  /// A deep copy of the state and of every group's options (see OptimizerStateDict).
  /// The state tensors stay on their parameters' devices (move them to the CPU to save them).
  OptimizerStateDict state_dict() const;
  /// Replaces the state and the groups' options with those of `dict`, which must
  /// come from an optimizer with the same groups, parameter names and shapes.
  /// Options the dict leaves out keep their values. Tensors are copied to each
  /// parameter's device and converted to its dtype (so a state saved from a GPU
  /// run loads into a CPU one and back). Everything is checked before anything
  /// changes: a bad dict leaves this optimizer as it was.
  void load_state_dict(const OptimizerStateDict& dict);

  /// Every setting, one line per group: "<name> group <g> (<n> params): lr=... ...".
  virtual std::string describe() const = 0;

  /// "SGD", "Adam", "AdamW", "Muon", ...: used in error messages.
  const std::string& name() const { return name_; }
  /// The label of parameter `index` of group `group` in the state_dict and in
  /// messages: its name, or its position over all groups.
  std::string param_key(std::size_t group, std::size_t index) const;

 protected:
  /// `buffers` names every state buffer the optimizer keeps (load_state_dict rejects others).
  Optimizer(std::string name, std::vector<std::string> buffers);

  /// The parameter names of group `group` (empty or one per parameter).
  virtual const std::vector<std::string>& group_names(std::size_t group) const = 0;

  /// Throws unless `params` and `names` can form group `group_index`: a parameter
  /// must be a defined contiguous floating leaf in no other group, names unique.
  void check_new_group(const std::vector<Tensor>& params, const std::vector<std::string>& names,
                       std::size_t group_index) const;

  /// One parameter as step() sees it: where it is, its (dense) gradient and its state.
  struct ParamStep {
    std::size_t group, index;
    const Tensor& param;
    Tensor grad;
    ParamState& state;
  };
  /// The walk every step() does: with autograd off, for each group and each
  /// parameter that has a gradient, check the devices (check_devices), make the
  /// gradient dense, get the state, call `update`, then bump the parameter's version.
  void for_each_param_with_grad(const std::function<void(ParamStep&)>& update);

  /// Buffer `buffer` of the state of parameter `index` of group `group`; throws
  /// when it is missing (e.g. a state_dict of another optimizer was loaded).
  const Tensor& buffer(const ParamState& state, const std::string& buffer, std::size_t group, std::size_t index) const;
  /// Throws naming the parameter unless its gradient and every buffer of its
  /// `state` (null when it has none yet) are on the parameter's device, and, for
  /// a CUDA parameter, unless CUDA is usable. for_each_param_with_grad calls it before touching state.
  void check_devices(const Tensor& param, const Tensor& grad, const ParamState* state, std::size_t group,
                     std::size_t index) const;
  /// The shape of state buffer `buffer` of `param` (load_state_dict checks it): the parameter's shape unless an
  /// optimizer keeps a differently shaped buffer (NorMuon's per-row second moment).
  virtual Shape state_shape(const std::string& buffer, const Tensor& param) const {
    (void)buffer;
    return param.shape();
  }

  /// state_dict serialisation of the options (TypedOptimizer implements both; see there).
  virtual void save_group_options(std::size_t group, const std::string& prefix,
                                  std::map<std::string, double>& scalars) const = 0;
  /// Checks every group's `options` (option name -> value, "initial_lr" included); when `apply`, and all are
  /// valid, sets them (load_state_dict checks first, then applies once the state has been checked too).
  virtual void load_group_options(const std::vector<std::map<std::string, double>>& options, bool apply) = 0;

 private:
  std::string name_;
  std::vector<std::string> buffer_names_;
  std::unordered_map<const TensorImpl*, ParamState> state_;
};

/// Throws "<optimizer>: invalid <option> = <value> ..." unless lo <= value (< or <=) hi.
/// Shared by the optimizers' check_options.
void check_option_range(const std::string& optimizer, std::size_t group_index, const std::string& option, double value,
                        double lo, double hi, bool hi_inclusive);

/// An options struct has a learning rate `lr` (or, when it wraps another struct, a member function
/// `double& learning_rate()` that returns it) and names its options for the state_dict with a member
///   template <typename Visit> void for_each_option(Visit&& visit) { visit("lr", lr); visit("amsgrad", amsgrad); ... }
/// calling visit(name, member) for each per-group option (double, int, bool or enum).
template <typename Options>
concept OptimizerOptions = requires(Options options) {
  { options.lr } -> std::convertible_to<double>;
}
|| requires(Options options) {
  { options.learning_rate() } -> std::same_as<double&>;
};

/// The learning rate of `options` (see OptimizerOptions).
template <OptimizerOptions Options>
double& learning_rate(Options& options) {
  if constexpr (requires { options.learning_rate(); }) {
    return options.learning_rate();
  } else {
    return options.lr;
  }
}

/// An Optimizer whose groups carry `Options`. `Base` is Optimizer or a class
/// derived from it that several optimizers share (MuonFamily).
template <OptimizerOptions OptionsType, typename Base = Optimizer>
class TypedOptimizer : public Base {
 public:
  using Options = OptionsType;
  using Group = ParamGroup<Options>;

  std::vector<Group>& param_groups() { return groups_; }
  const std::vector<Group>& param_groups() const { return groups_; }

  /// Adds a group. Throws when an option is out of range, when a parameter is not a
  /// contiguous floating leaf, or when a parameter already belongs to a group.
  void add_param_group(Group group) {
    this->check_new_group(group.params, group.names, groups_.size());
    check_options(group.options, groups_.size());
    groups_.push_back(std::move(group));
  }

  std::size_t num_groups() const override { return groups_.size(); }
  const std::vector<Tensor>& group_params(std::size_t g) const override { return groups_.at(g).params; }
  double lr(std::size_t g) const override {
    Options options = groups_.at(g).options;
    return learning_rate(options);
  }
  void set_lr(std::size_t g, double lr) override { learning_rate(groups_.at(g).options) = lr; }
  void set_lr_from_base(const std::function<double(double initial_lr)>& schedule) override {
    for (Group& group : groups_) {
      double& lr = learning_rate(group.options);
      if (!group.initial_lr) group.initial_lr = lr;
      lr = schedule(*group.initial_lr);
    }
  }

  std::string describe() const override {
    std::ostringstream out;
    for (std::size_t g = 0; g < groups_.size(); ++g) {
      out << this->name() << " group " << g << " (" << groups_[g].params.size() << " params):";
      for_each_saved_option(groups_[g].options, [&](const char* key, auto value) {
        using T = decltype(value);
        out << " " << key << "=";
        if constexpr (std::is_same_v<T, bool>) {
          out << (value ? "true" : "false");
        } else if constexpr (std::is_enum_v<T>) {
          out << static_cast<int>(value);
        } else {
          out << value;
        }
      });
      out << "\n";
    }
    return out.str();
  }

 protected:
  template <typename... BaseArgs>
  explicit TypedOptimizer(BaseArgs&&... base_args) : Base(std::forward<BaseArgs>(base_args)...) {}

  /// Throws a recgrad::Error naming the optimizer, the group and the option when
  /// an option of group `group_index` is out of range.
  virtual void check_options(const Options& options, std::size_t group_index) const = 0;

  /// Whether option `key` is part of this optimizer's state_dict (Muon-MVR leaves out two of Muon's).
  virtual bool saves_option(std::string_view key) const {
    (void)key;
    return true;
  }

  /// for_each_param_with_grad with the options of each parameter's group:
  ///   for_each_param([&](const Options& options, ParamStep& p) { ... });
  template <typename Update>
  void for_each_param(Update&& update) {
    this->for_each_param_with_grad(
        [&](typename Base::ParamStep& p) { update(static_cast<const Options&>(groups_[p.group].options), p); });
  }

  const std::vector<std::string>& group_names(std::size_t g) const override { return groups_.at(g).names; }

  // ---- state_dict serialisation: the only place options become names and numbers ----

  void save_group_options(std::size_t g, const std::string& prefix,
                          std::map<std::string, double>& scalars) const override {
    for_each_saved_option(groups_.at(g).options, [&](const char* key, auto value) {
      if constexpr (std::is_enum_v<decltype(value)>) {
        scalars[prefix + key] = static_cast<double>(static_cast<int>(value));
      } else {
        scalars[prefix + key] = static_cast<double>(value);
      }
    });
    if (groups_[g].initial_lr) scalars[prefix + "initial_lr"] = *groups_[g].initial_lr;
  }

  void load_group_options(const std::vector<std::map<std::string, double>>& options, bool apply) override {
    std::vector<Group> groups = groups_;
    for (std::size_t g = 0; g < groups.size() && g < options.size(); ++g) {
      for (const auto& [key, value] : options[g]) {
        if (key == "initial_lr") {
          groups[g].initial_lr = value;
          continue;
        }
        bool known = false;
        visit_saved_option(groups[g].options, [&](const char* name, auto& member) {
          if (key != name) return;
          known = true;
          using T = std::remove_reference_t<decltype(member)>;
          if constexpr (std::is_same_v<T, double>) {
            member = value;
          } else {
            const bool is_bool = std::is_same_v<T, bool>;
            const bool ok = is_bool ? (value == 0 || value == 1)
                                    : (value == std::floor(value) && std::abs(value) < 2147483648.0);  // false for NaN
            RG_CHECK(ok, this->name(), ": invalid ", key, " = ", value, " in param group ", g,
                     is_bool ? " (expected 0 or 1)" : " (expected an integer)");
            member = static_cast<T>(static_cast<int>(value));
          }
        });
        RG_CHECK(known, this->name(), ".load_state_dict: unknown option '", key, "' in param group ", g);
      }
      check_options(groups[g].options, g);
    }
    if (apply) groups_ = std::move(groups);
  }

 private:
  // visit(name, value) for each option saves_option keeps.
  template <typename Visit>
  void for_each_saved_option(Options options, Visit&& visit) const {
    options.for_each_option([&](const char* key, auto& member) {
      if (saves_option(key)) visit(key, member);
    });
  }
  template <typename Visit>
  void visit_saved_option(Options& options, Visit&& visit) const {
    options.for_each_option([&](const char* key, auto& member) {
      if (saves_option(key)) visit(key, member);
    });
  }

  std::vector<Group> groups_;
};

}  // namespace recgrad
