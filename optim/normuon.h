// NorMuon (Li et al., "NorMuon: Making Muon more efficient and scalable",
// arXiv 2510.05491; reference code normuon.py of the authors): Muon whose
// orthogonalized update is then normalized neuron by neuron (row by row) with
// an Adam-like second moment, and rescaled to keep Muon's update norm. After
// Muon's momentum and Newton-Schulz step give O [rows, cols] (muon.h):
//
//   v  = beta2 v + (1 - beta2) mean_over_cols(O * O)      per row, v [rows, 1], starts at 0
//   O' = O / (sqrt(v) + eps)
//   O' = O' ||O||_F / (||O'||_F + eps)                     same Frobenius norm as O
//
// then W = W (1 - lr wd) - lr s O' with Muon's update scale s. There is no bias
// correction of v (as in the reference); eps = 1e-10, beta2 = 0.95.
//
// Its state: "momentum_buffer" (the parameter's shape) and
// "second_momentum_buffer" ([rows, 1]). last_orthogonalized() (muon.h) keeps O,
// the Newton-Schulz output before this normalization.
#pragma once

#include <string>
#include <vector>

#include "optim/muon.h"

namespace recgrad {

struct NorMuonOptions {
  MuonOptions muon;  // momentum, Newton-Schulz, update scale, weight decay, lr
  double beta2 = 0.95;
  double eps = 1e-10;

  /// Muon's options plus "beta2" and "eps".
  template <typename Visit>
  void for_each_option(Visit&& visit) {
    muon.for_each_option(visit);
    visit("beta2", beta2);
    visit("eps", eps);
  }
  /// Where TypedOptimizer finds the lr (lr schedules): Muon's.
  double& learning_rate() { return muon.lr; }
};

class NorMuon : public TypedOptimizer<NorMuonOptions, MuonFamily> {
 public:
  explicit NorMuon(std::vector<Tensor> params, NorMuonOptions options = {});
  explicit NorMuon(std::vector<Group> groups);

  void step() override;

  /// Muon's settings plus beta2 and eps, one line per group.
  std::string describe() const override;

 protected:
  const MuonOptions& muon_options(std::size_t group) const override { return param_groups()[group].options.muon; }
  void check_options(const NorMuonOptions& options, std::size_t group_index) const override;
  /// second_momentum_buffer is [rows, 1] of the parameter's Muon matrix; the momentum has the parameter's shape.
  Shape state_shape(const std::string& buffer, const Tensor& param) const override;
  /// The per-row normalization above.
  Tensor after_orthogonalize(const Tensor& orthogonalized, ParamState& state, std::size_t group,
                             std::size_t index) override;
};

}  // namespace recgrad
