// HybridOptimizer: one optimizer object over a whole model that updates each
// parameter with the optimizer its routing row names (optim/routing.h): a Muon for
// the matrices routed to Muon, an AdamW for the rest, each parameter with its row's
// lr and weight decay. step, zero_grad, state_dict and the learning-rate schedule
// act on both at once.
//
//   const HybridPreset preset = hybrid_preset("muonrec");
//   HybridOptimizer opt(route_parameters(model, preset.routing, model_roles), preset.muon, preset.adamw);
//   std::cout << opt.describe();
//   for (...) { opt.zero_grad(); loss.backward(); opt.set_lr_factor(schedule(step)); opt.step(); }
//
// A routing row with blocks = k > 1 (a GRU weight [3H, in] orthogonalised per gate)
// gives Muon k row-block views [H, in] of the parameter instead of the parameter:
// each view shares the parameter's storage, so Muon's update lands in the parameter,
// and before each step each view's gradient is set to the matching rows of the
// parameter's gradient. Build the optimizer after moving the model to its device.
//
// With HybridMuon::mvr, Muon-MVR (optim/muon_mvr.h) updates the Muon rows x and
// AdamW the rest y, and Muon-MVR's correction needs the gradient at the previous
// point on the current batch with BOTH at their previous values: the AdamW rows
// are Muon-MVR's co-parameters. One step(closure) at step t (xi_t the batch the
// closure evaluates, g_x and g_y the gradients of its loss w.r.t. x and y):
//
//   1. t >= 2: (x, y) <- (x_{t-1}, y_{t-1});  G_prev = g_x(x_{t-1}, y_{t-1}; xi_t);  (x, y) <- (x_t, y_t)
//   2. closure at (x_t, y_t): G = g_x(x_t, y_t; xi_t), and every .grad now holds the current point's gradient
//   3. M_t = beta M_{t-1} + (1 - beta) G + beta (G - G_prev)        (t = 1: M_1 = G)
//   4. x_prev <- x_t;  y_prev <- y_t                                   (x_{t-1}, y_{t-1} of the next step)
//   5. x_{t+1} = x_t (1 - lr wd) - lr s NewtonSchulz(M_t)             Muon-MVR's update
//   6. y_{t+1} = AdamW(y_t, g_y(x_t, y_t; xi_t))                       AdamW's step, on the gradient of step 2
//
// y_prev is saved in state_dict() as "mvr.state.<name>.previous_param" for each AdamW row.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "optim/adamw.h"
#include "optim/audit.h"
#include "optim/muon.h"
#include "optim/routing.h"

namespace recgrad {

class MuonMVR;

/// Which Muon the hybrid builds for its Muon rows: plain Muon, NorMuon (optim/normuon.h) with its
/// per-row second moment (beta2, eps of NorMuonOptions), or Muon-MVR (optim/muon_mvr.h), whose step needs a
/// closure that recomputes the loss (step(closure) below).
enum class HybridMuon { muon, normuon, mvr };

class HybridOptimizer {
 public:
  /// Muon gets the rows routed to Muon, grouped by (lr, weight decay), with `muon`'s
  /// other settings; AdamW likewise with `adamw`'s betas, eps and amsgrad. The lr and
  /// weight decay in `muon` and `adamw` are not used: each row carries its own.
  /// With HybridMuon::normuon the Muon rows go to a NorMuon (beta2 0.95, eps 1e-10).
  HybridOptimizer(RoutingTable table, MuonOptions muon, AdamWOptions adamw, HybridMuon variant = HybridMuon::muon);

  /// One step of both optimizers (each skips parameters without a gradient). Throws for HybridMuon::mvr.
  void step();
  /// One step for any flavour: with HybridMuon::mvr, Muon-MVR runs its closure calls (the first with every
  /// routed weight, the AdamW rows too, at its value after the previous step; the last leaves every gradient at
  /// the current weights) and then AdamW steps (steps 1-6 at the top of the file); otherwise the closure runs
  /// once, then step().
  /// `closure` clears the gradients, computes the current batch's loss, calls backward() and returns the loss.
  Tensor step(const std::function<Tensor()>& closure);
  /// Whether step() needs the closure form (HybridMuon::mvr).
  bool needs_closure() const { return variant_ == HybridMuon::mvr; }
  /// Drops every routed parameter's gradient.
  void zero_grad();
  /// Sets every group's lr of both optimizers to factor * its base lr (lr_schedule.h).
  void set_lr_factor(double factor);
  /// Sets every group's lr of both optimizers to schedule(its base lr) (Optimizer::set_lr_from_base).
  void set_lr_from_base(const std::function<double(double initial_lr)>& schedule);

  /// Both optimizers' state under "muon." and "adamw." prefixes (see OptimizerStateDict); with HybridMuon::mvr
  /// also the AdamW rows' previous values, "mvr.state.<name>.previous_param" (once Muon-MVR has stepped).
  OptimizerStateDict state_dict() const;
  /// Loads a state_dict() of a hybrid with the same routing; a bad dict changes nothing. With HybridMuon::mvr a
  /// dict whose Muon-MVR has stepped must hold the previous value of every AdamW row.
  void load_state_dict(const OptimizerStateDict& dict);

  /// The routing table, then each optimizer's settings.
  std::string describe() const;

  const RoutingTable& table() const { return table_; }
  HybridMuon variant() const { return variant_; }
  /// The optimizers (null when no parameter is routed to it). muon() is a Muon, NorMuon or MuonMVR (variant()).
  MuonFamily* muon() { return muon_.get(); }
  AdamW* adamw() { return adamw_.get(); }
  const MuonFamily* muon() const { return muon_.get(); }
  const AdamW* adamw() const { return adamw_.get(); }

  /// The Newton-Schulz outputs of the last step for parameter `param` (one per row block;
  /// empty unless it is routed to Muon, muon.keep_last_orthogonalized is on and it has been updated).
  std::vector<Tensor> last_orthogonalized(const Tensor& param) const;
  /// Every routed parameter with its optimizer's name, for OptimizerAudit.
  std::vector<AuditedParameter> audited_parameters() const;
  /// An OptimizerAudit provider that reads last_orthogonalized (this object must outlive it).
  OrthogonalizedProvider orthogonalized_provider() const;

 private:
  // A parameter Muon sees as row blocks: the parameter and its views.
  struct SplitParameter {
    Tensor param;
    std::vector<Tensor> blocks;
  };
  void set_block_gradients();
  /// muon_ as the MuonMVR it is under HybridMuon::mvr; null otherwise.
  MuonMVR* mvr();
  const MuonMVR* mvr() const;

  RoutingTable table_;
  std::unique_ptr<MuonFamily> muon_;
  std::unique_ptr<AdamW> adamw_;
  std::vector<SplitParameter> splits_;
  HybridMuon variant_ = HybridMuon::muon;
};

}  // namespace recgrad
