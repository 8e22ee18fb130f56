// The optimizers recbench compares, behind one small interface the trainer drives:
//   adamw   AdamW on every parameter (the baseline)
//   muon    the MuonRec hybrid (optim/presets.h "muonrec"): Muon on hidden >= 2-D weights including the output
//           layer, GRU weights and conv kernels; AdamW on embeddings, biases and norm gains
//   keller  the hybrid with the output head and the first (input) layer on AdamW as well
//   normuon the MuonRec routing with NorMuon (per-row normalised Newton-Schulz output) on the Muon rows
//   mvr     the MuonRec routing with Muon-MVR (momentum variance reduction; two extra gradients per step)
//   lion    Lion on every parameter (a third baseline)
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "optim/audit.h"
#include "optim/optimizer.h"
#include "recsys/model.h"

namespace recgrad::recsys {

/// Learning rates and weight decays that override an optimizer's defaults (<= 0 / < 0: keep the default).
struct OptimizerOverrides {
  double lr = 0.0;             // adamw/lion: its lr; muon/keller: Muon's lr
  double adamw_lr = 0.0;       // muon/keller: the lr of the AdamW part
  double weight_decay = -1.0;  // adamw/lion: its wd; muon/keller: Muon's wd
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

/// The optimizer called `name` for `model`'s parameters; throws listing the valid names.
std::unique_ptr<TrainingOptimizer> make_training_optimizer(const std::string& name, SequentialRecommender& model,
                                                           const OptimizerOverrides& overrides = {});
/// The names make_training_optimizer accepts.
std::vector<std::string> training_optimizer_names();

}  // namespace recgrad::recsys
