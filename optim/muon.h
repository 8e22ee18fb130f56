// Muon: MomentUm Orthogonalized by Newton-Schulz (Keller Jordan et al., 2024;
// reference code KellerJordan/Muon, muon.py). For each matrix parameter W
// [rows, cols] (a conv kernel [out, in, kh, kw] is treated as [out, in*kh*kw])
// with gradient G, at every step:
//
//   momentum (EMA form, the default and the reference's):
//     M = beta M + (1 - beta) G                       (momentum.lerp_(grad, 1 - beta))
//     U = nesterov ? (1 - beta) G + beta M : M        (grad.lerp_(momentum, beta))
//   momentum (summed form, the older Muon / torch.optim.SGD style):
//     M = beta M + G
//     U = nesterov ? G + beta M : M
//   O = NewtonSchulz(U)                               ~ U's orthogonal factor (newton_schulz.h)
//   s = sqrt(max(1, rows / cols))                     "original" update scale
//     or 0.2 sqrt(max(rows, cols))                    "match_adamw_rms" (update RMS ~ 0.2, like AdamW's)
//   W = W (1 - lr weight_decay)                       decoupled weight decay
//   W = W - lr s O
//
// M starts at zero. Every parameter must have at least 2 dimensions: biases,
// norm gains and (usually) embeddings belong to AdamW (see the MuonRec
// routing). Note: the reference computes the "original" scale from the
// gradient's last two dimensions, which for a conv kernel are (kh, kw); here
// it is computed from the flattened [out, in*kh*kw] matrix that is orthogonalized.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "optim/newton_schulz.h"
#include "optim/optimizer.h"

namespace recgrad {

/// How the momentum buffer accumulates gradients (state_dict: "momentum_form" 0 ema, 1 summed).
enum class MuonMomentumForm { kEma = 0, kSummed = 1 };
/// The factor on the orthogonalized update (state_dict: "update_scale" 0 original, 1 match_adamw_rms).
enum class MuonUpdateScale { kOriginal = 0, kMatchAdamWRms = 1 };

struct MuonOptions {
  double lr = 0.02;
  double momentum = 0.95;  // beta
  bool nesterov = true;
  MuonMomentumForm momentum_form = MuonMomentumForm::kEma;
  double weight_decay = 0.0;
  MuonUpdateScale update_scale = MuonUpdateScale::kOriginal;
  int ns_steps = 5;
  double ns_eps = 1e-7;
  NewtonSchulzPrecision ns_precision = NewtonSchulzPrecision::kAuto;
  /// Optimizer-wide (every group must have the same): the Newton-Schulz coefficient schedule.
  std::vector<NewtonSchulzCoefficients> ns_coefficients = {{3.4445, -4.7750, 2.0315}};
  /// Optimizer-wide (every group must have the same): keep each parameter's last Newton-Schulz output (for the
  /// audit).
  bool keep_last_orthogonalized = false;

  /// The per-group options under their state_dict names (the two optimizer-wide ones are not saved).
  template <typename Visit>
  void for_each_option(Visit&& visit) {
    visit("lr", lr);
    visit("momentum", momentum);
    visit("nesterov", nesterov);
    visit("momentum_form", momentum_form);
    visit("weight_decay", weight_decay);
    visit("update_scale", update_scale);
    visit("ns_steps", ns_steps);
    visit("ns_eps", ns_eps);
    visit("ns_precision", ns_precision);
  }
};

/// [rows, cols] of the matrix Muon orthogonalizes for a parameter of `shape`:
/// [shape[0], product of the rest]. Throws for fewer than 2 dimensions.
Shape muon_matrix_shape(const Shape& shape, const std::string& what);

/// The update scale for a [rows, cols] matrix under `rule` (see above).
double muon_update_scale(std::int64_t rows, std::int64_t cols, MuonUpdateScale rule);

/// What Muon, NorMuon (normuon.h) and Muon-MVR (muon_mvr.h) share, whatever their options struct: the
/// momentum step, the orthogonalized update, the kept Newton-Schulz outputs. HybridOptimizer holds any of
/// them through this class.
class MuonFamily : public Optimizer {
 public:
  /// The last Newton-Schulz output O (before the update scale, lr and weight
  /// decay) of `param`, or null when keep_last_orthogonalized is off or the
  /// parameter has not been updated yet. Shape [rows, cols] of the flattened matrix.
  const Tensor* last_orthogonalized(const Tensor& param) const;

  const std::vector<NewtonSchulzCoefficients>& ns_coefficients() const { return ns_coefficients_; }
  bool keep_last_orthogonalized() const { return keep_last_orthogonalized_; }

 protected:
  /// `optimizer_wide` gives ns_coefficients and keep_last_orthogonalized.
  MuonFamily(std::string name, std::vector<std::string> buffers, const MuonOptions& optimizer_wide);

  /// The Muon part of the options of group `group`.
  virtual const MuonOptions& muon_options(std::size_t group) const = 0;

  /// Throws unless every parameter has at least 2 dimensions (call after adding the groups).
  void check_matrices() const;
  /// The checks of Muon's options; `momentum_form` says whether nesterov and momentum_form are used.
  void check_muon_options(const MuonOptions& options, std::size_t group_index, bool momentum_form) const;

  /// Muon's step (see the top of the file): momentum, Nesterov, then apply_orthogonalized_update.
  void momentum_step();

  /// The part every Muon variant shares, for parameter `index` of group `group`
  /// and its momentum direction U (the parameter's shape):
  ///   O = NewtonSchulz(U as [rows, cols]);  O = after_orthogonalize(O);
  ///   W = W (1 - lr wd) - lr s O.
  void apply_orthogonalized_update(const Tensor& param, const Tensor& direction, ParamState& state, std::size_t group,
                                   std::size_t index);

  /// Hook between Newton-Schulz and the update scale; Muon returns `orthogonalized` unchanged
  /// (NorMuon normalizes its rows here).
  virtual Tensor after_orthogonalize(const Tensor& orthogonalized, ParamState& state, std::size_t group,
                                     std::size_t index);

  /// "lr=0.02 momentum=0.95 ..." for `options`, in a fixed order; `momentum_form` as in check_muon_options.
  std::string describe_muon_options(const MuonOptions& options, bool momentum_form) const;

 private:
  std::vector<NewtonSchulzCoefficients> ns_coefficients_;
  bool keep_last_orthogonalized_;
  std::unordered_map<const TensorImpl*, Tensor> last_orthogonalized_;
};

class Muon : public TypedOptimizer<MuonOptions, MuonFamily> {
 public:
  /// One group holding `params`, with `options`.
  explicit Muon(std::vector<Tensor> params, MuonOptions options = {});
  /// Several groups, each with its own options (ns_coefficients and keep_last_orthogonalized the same in all).
  explicit Muon(std::vector<Group> groups);

  void step() override;

  /// Every setting, one line per group, e.g.
  /// "Muon group 0 (3 params): lr=0.02 momentum=0.95 momentum_form=ema nesterov=true ...".
  /// recbench prints it with the run.
  std::string describe() const override;

 protected:
  /// For Muon-MVR: no groups yet; its constructor adds them (so that its own check_options runs).
  Muon(std::string name, std::vector<std::string> buffers, const MuonOptions& optimizer_wide);

  const MuonOptions& muon_options(std::size_t group) const override { return param_groups()[group].options; }
  void check_options(const MuonOptions& options, std::size_t group_index) const override;
};

}  // namespace recgrad
