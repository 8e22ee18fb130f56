// NorMuon: Muon's momentum step plus the per-row second-moment normalization
// of the Newton-Schulz output, in after_orthogonalize. See normuon.h.
#include "optim/normuon.h"

#include <cmath>
#include <sstream>

#include "core/factory.h"
#include "core/ops/binary.h"
#include "core/ops/reduce.h"
#include "core/ops/unary.h"

namespace recgrad {

NorMuon::NorMuon(std::vector<Tensor> params, NorMuonOptions options)
    : NorMuon({Group{std::move(params), {}, options}}) {}

NorMuon::NorMuon(std::vector<Group> groups)
    : TypedOptimizer("NorMuon", std::vector<std::string>{"momentum_buffer", "second_momentum_buffer"},
                     groups.empty() ? MuonOptions{} : groups.front().options.muon) {
  for (Group& group : groups) add_param_group(std::move(group));
  check_matrices();
}

void NorMuon::check_options(const NorMuonOptions& o, std::size_t g) const {
  check_muon_options(o.muon, g, true);
  check_option_range(name(), g, "beta2", o.beta2, 0, 1, false);
  check_option_range(name(), g, "eps", o.eps, 0, INFINITY, false);
}

void NorMuon::step() { momentum_step(); }

Shape NorMuon::state_shape(const std::string& buffer, const Tensor& param) const {
  if (buffer != "second_momentum_buffer") return param.shape();
  return {muon_matrix_shape(param.shape(), name())[0], 1};
}

Tensor NorMuon::after_orthogonalize(const Tensor& o, ParamState& state, std::size_t g, std::size_t i) {
  const NorMuonOptions& options = param_groups()[g].options;
  const double beta2 = options.beta2, eps = options.eps;
  const std::int64_t rows = o.size(0), cols = o.size(1);
  if (!state.buffers.count("second_momentum_buffer")) {
    state.buffers["second_momentum_buffer"] = zeros({rows, 1}, {o.dtype(), o.device()});
  }
  const Tensor& v = buffer(state, "second_momentum_buffer", g, i);
  RG_CHECK(v.shape() == Shape({rows, 1}), name(), ".step: state 'second_momentum_buffer' of parameter '",
           param_key(g, i), "' has shape ", v.shape(), " but the update has ", rows, " rows");
  const Tensor eps_tensor = scalar_tensor(eps, {o.dtype(), o.device()});

  const Tensor row_mean_square = raw::sum(raw::square(o), {1}, true);  // [rows, 1]
  raw::mul_(row_mean_square, 1.0 / static_cast<double>(cols));
  raw::mul_(v, beta2);  // v = beta2 v + (1 - beta2) mean(O^2)
  raw::add_(v, row_mean_square, 1 - beta2);
  const Tensor normalized = raw::div(o, raw::add(raw::sqrt(v), eps_tensor));  // O / (sqrt(v) + eps)
  const Tensor norm_before = raw::norm(o, 2.0, {}, false);
  const Tensor norm_after = raw::add(raw::norm(normalized, 2.0, {}, false), eps_tensor);
  return raw::mul(normalized, raw::div(norm_before, norm_after));  // keep ||O||_F
}

std::string NorMuon::describe() const {
  std::ostringstream out;
  for (std::size_t g = 0; g < param_groups().size(); ++g) {
    const Group& group = param_groups()[g];
    out << name() << " group " << g << " (" << group.params.size()
        << " params): " << describe_muon_options(group.options.muon, true) << " beta2=" << group.options.beta2
        << " eps=" << group.options.eps << "\n";
  }
  return out.str();
}

}  // namespace recgrad
