// Muon with momentum variance reduction (MVR), after Qian, Rammal, Kovalev and
// Richtárik, "Muon is Provably Faster with Momentum Variance Reduction"
// (arXiv 2512.16598): Muon's plain momentum is replaced by the STORM-style
// variance-reduced estimator (Cutkosky & Orabona, 2019), which improves the
// non-convex rate from O(1/K^(1/4)) to O(1/K^(1/3)). With g(x; xi) the
// gradient at parameters x on batch xi, at step t (x_t the current parameters,
// xi_t the current batch):
//
//   M_1 = g(x_1; xi_1)
//   M_t = beta M_{t-1} + (1 - beta) g(x_t; xi_t) + beta (g(x_t; xi_t) - g(x_{t-1}; xi_t))     t >= 2
//   x_{t+1} = x_t (1 - lr wd) - lr s NewtonSchulz(M_t)                                        as Muon
//
// The correction beta (g(x_t; xi_t) - g(x_{t-1}; xi_t)) is the change of the
// gradient along the last step, measured on ONE batch so that its noise
// cancels; it vanishes when the gradient does not change (a linear loss), and
// then MVR is Muon. Evaluating g(x_{t-1}; xi_t) takes a second forward and
// backward pass on the current batch, which is why step() takes a closure.
//
// Note: the paper's algorithm listing could not be read with this project's
// tools (only its abstract); the recursion above is the MVR estimator the
// abstract names, written with beta as the weight of the old estimate (Muon's
// convention). No Nesterov and no summed form: the options are Muon's minus
// "nesterov" and "momentum_form". State: "momentum_buffer" (M) and
// "previous_param" (x_t, kept for the next step's correction).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "optim/muon.h"

namespace recgrad {

class MuonMVR : public Muon {
 public:
  /// `options.nesterov` and `options.momentum_form` are ignored (MVR has its own recursion).
  explicit MuonMVR(std::vector<Tensor> params, MuonOptions options = {});
  explicit MuonMVR(std::vector<Group> groups);

  /// One MVR step. `closure` must clear the gradients of the model (every
  /// parameter, not only this optimizer's), compute the loss on the CURRENT batch
  /// at the parameters as they are when it is called, call backward() on it and
  /// return it. From the second step on, step() first sets this optimizer's
  /// parameters to x_{t-1}, calls the closure (g(x_{t-1}; xi_t)), restores x_t,
  /// then calls it again (g(x_t; xi_t)); on the first step only the second call
  /// happens. So the closure runs 1 + 2 (steps - 1) times over `steps` steps.
  /// When step() returns, every .grad holds the gradient at x_t (as after a
  /// plain backward), so other optimizers may step after it. Returns the loss at x_t.
  Tensor step(const std::function<Tensor()>& closure);

  /// Throws: MVR needs the closure above.
  void step() override;

 protected:
  void check_options(const MuonOptions& options, std::size_t group_index) const override;
  /// nesterov and momentum_form are not MVR options: not in its state_dict, not in describe().
  bool saves_option(std::string_view key) const override;
};

}  // namespace recgrad
