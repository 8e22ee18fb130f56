// The optimizers recbench compares, behind one small interface the trainer drives. One registry,
// optimizer_zoo(), lists them: each entry's name, its one-line description and its factory, so the names,
// the help text and make_training_optimizer all come from the same list:
//   adamw   AdamW on every parameter (the baseline)
//   muon    the MuonRec hybrid (optim/presets.h "muonrec")
//   keller  the hybrid with the output head and the first (input) layer on AdamW as well
//   normuon the MuonRec routing with NorMuon on the Muon rows
//   mvr     the MuonRec routing with Muon-MVR on the Muon rows
//   lion    Lion on every parameter (a third baseline)
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "optim/audit.h"
#include "optim/optimizer.h"
#include "recsys/model.h"

namespace recgrad::recsys {

/// Learning rates and weight decays that override an optimizer's own (unset: keep it). Exact doubles, end to end.
struct OptimizerOverrides {
  std::optional<double> lr;            // adamw/lion: its lr; the hybrids: Muon's lr
  std::optional<double> adamw_lr;      // the hybrids: the lr of the AdamW part
  std::optional<double> weight_decay;  // adamw/lion: its wd; the hybrids: Muon's wd
};

class TrainingOptimizer {
 public:
  virtual ~TrainingOptimizer() = default;
  virtual void zero_grad() = 0;
  virtual void step() = 0;
  /// Optimizers that re-evaluate the loss (Muon-MVR) step through this: `closure` clears the gradients, computes
  /// the current batch's loss, calls backward() and returns it; the step returns the loss at the current weights.
  virtual bool needs_closure() const { return false; }
  virtual Tensor step(const std::function<Tensor()>& closure) {
    Tensor loss = closure();
    step();
    return loss;
  }
  /// Every group's lr becomes factor * its base lr (for schedules).
  virtual void set_lr_factor(double factor) = 0;
  /// Every group's lr becomes schedule(its base lr) (for schedules with a per-group form).
  virtual void set_lr_from_base(const std::function<double(double base_lr)>& schedule) = 0;
  virtual OptimizerStateDict state_dict() const = 0;
  virtual void load_state_dict(const OptimizerStateDict& dict) = 0;
  /// Every setting, and for hybrids the routing table (name, shape, optimizer, lr, wd).
  virtual std::string describe() const = 0;
  /// "adamw", "muon", ...
  virtual std::string name() const = 0;
  /// Every parameter with the optimizer that updates it, for the audit (optim/audit.h).
  virtual std::vector<AuditedParameter> audited_parameters() const = 0;
  /// Where the audit finds the Newton-Schulz outputs of the last step (none for optimizers without them).
  virtual OrthogonalizedProvider orthogonalized_provider() const { return {}; }
};

/// One optimizer recbench offers.
struct OptimizerEntry {
  std::string name;         // "adamw", "muon", ...
  std::string description;  // one line, for --help
  /// The learning rates and weight decay the factory uses when no override is given (the tuned protocol's
  /// starting point); read from the same options the factory builds from.
  OptimizerOverrides defaults;
  std::function<std::unique_ptr<TrainingOptimizer>(SequentialRecommender& model, const OptimizerOverrides& overrides)>
      make;
};

/// Every optimizer recbench offers, in the order of its help text.
const std::vector<OptimizerEntry>& optimizer_zoo();
/// The entry called `name`; throws "unknown optimizer '<name>' (known: adamw, muon, ...)".
const OptimizerEntry& find_optimizer(const std::string& name);

/// find_optimizer(name).make(model, overrides).
std::unique_ptr<TrainingOptimizer> make_training_optimizer(const std::string& name, SequentialRecommender& model,
                                                           const OptimizerOverrides& overrides = {});
/// The names of optimizer_zoo(), in order.
std::vector<std::string> training_optimizer_names();

}  // namespace recgrad::recsys
