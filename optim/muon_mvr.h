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
// Co-parameters. In a model whose other weights another optimizer updates (the
// hybrid's AdamW-routed embeddings, biases and norms, optim/hybrid.h), the
// gradient at the previous point must be taken with the WHOLE model at x_{t-1}:
// with the other weights left at x_t, the correction would be the change of the
// gradient between two points that the model never visited together. MuonMVR
// therefore takes an optional list of co-parameters: it never updates them,
// but keeps their value after each of its steps (as it keeps "previous_param")
// and rewinds them together with its own parameters. One step(closure), with y
// the co-parameters (their optimizer steps after step(closure) returns):
//
//   t >= 2:  (x, y) <- (x_{t-1}, y_{t-1});  G_prev = g(x_{t-1}, y_{t-1}; xi_t);  (x, y) <- (x_t, y_t)
//            G = g(x_t, y_t; xi_t)      (the closure again: every .grad is now the gradient at the current point)
//            M_t = beta M_{t-1} + (1 - beta) G + beta (G - G_prev)
//   t = 1:   G = g(x_1, y_1; xi_1);  M_1 = G
//   x_prev <- x_t;  y_prev <- y_t                         (the next step's x_{t-1}, y_{t-1})
//   x_{t+1} = x_t (1 - lr wd) - lr s NewtonSchulz(M_t)
//
// Note: the paper's algorithm listing could not be read with this project's
// tools (only its abstract); the recursion above is the MVR estimator the
// abstract names, written with beta as the weight of the old estimate (Muon's
// convention). No Nesterov and no summed form: the options are Muon's minus
// "nesterov" and "momentum_form". State: "momentum_buffer" (M) and
// "previous_param" (x_t, kept for the next step's correction); the
// co-parameters' previous values are co_previous() (not in state_dict(): the
// hybrid saves them under its own keys).
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
  /// `co_params`: weights this optimizer rewinds with its own but does not update (see the top of the file);
  /// each a defined leaf in none of `groups` and listed once.
  explicit MuonMVR(std::vector<Group> groups, std::vector<Tensor> co_params = {});

  /// One MVR step. `closure` must clear the gradients of the model (every
  /// parameter, not only this optimizer's), compute the loss on the CURRENT batch
  /// at the parameters as they are when it is called, call backward() on it and
  /// return it. From the second step on, step() first sets this optimizer's
  /// parameters and its co-parameters to their values after the previous step
  /// (x_{t-1}), calls the closure (g(x_{t-1}; xi_t)), restores x_t,
  /// then calls it again (g(x_t; xi_t)); on the first step only the second call
  /// happens. So the closure runs 1 + 2 (steps - 1) times over `steps` steps.
  /// When step() returns, every .grad holds the gradient at x_t (as after a
  /// plain backward), so other optimizers may step after it. Returns the loss at x_t.
  Tensor step(const std::function<Tensor()>& closure);

  /// Throws: MVR needs the closure above.
  void step() override;

  /// The co-parameters, in the constructor's order.
  const std::vector<Tensor>& co_parameters() const { return co_params_; }
  /// The value of each co-parameter after the last step (its x_{t-1} at the next one); undefined before the first.
  const std::vector<Tensor>& co_previous() const { return co_previous_; }
  /// Replaces co_previous() (for a checkpoint): one tensor per co-parameter, undefined or of its shape (copied
  /// to its device and dtype). Checked before anything changes.
  void load_co_previous(const std::vector<Tensor>& previous);

 protected:
  void check_options(const MuonOptions& options, std::size_t group_index) const override;
  /// nesterov and momentum_form are not MVR options: not in its state_dict, not in describe().
  bool saves_option(std::string_view key) const override;

 private:
  std::vector<Tensor> co_params_;
  std::vector<Tensor> co_previous_;  // [i]: co_params_[i] after the last step; undefined before the first
};

}  // namespace recgrad
