// Muon (see muon.h for the update). MuonFamily::momentum_step is the whole
// algorithm: momentum, Nesterov, then apply_orthogonalized_update (Newton-Schulz,
// update scale, decoupled weight decay). Everything is composed of raw ops, so
// the same code runs on the CPU and on CUDA.
#include "optim/muon.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/factory.h"
#include "core/ops/binary.h"
#include "core/ops/copy.h"
#include "core/ops/view.h"

namespace recgrad {

namespace {

const char* form_name(MuonMomentumForm form) { return form == MuonMomentumForm::kEma ? "ema" : "summed"; }
const char* scale_name(MuonUpdateScale rule) {
  return rule == MuonUpdateScale::kOriginal ? "original sqrt(max(1,rows/cols))"
                                            : "match_adamw_rms 0.2*sqrt(max(rows,cols))";
}

bool same_coefficients(const std::vector<NewtonSchulzCoefficients>& a, const std::vector<NewtonSchulzCoefficients>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const auto& x, const auto& y) { return x.a == y.a && x.b == y.b && x.c == y.c; });
}

}  // namespace

Shape muon_matrix_shape(const Shape& shape, const std::string& what) {
  RG_CHECK(shape.size() >= 2, "Muon: parameter '", what, "' has shape ", shape,
           "; Muon updates matrices (>= 2 dimensions): give biases, norm gains and other vectors to AdamW");
  std::int64_t cols = 1;
  for (std::size_t d = 1; d < shape.size(); ++d) cols *= shape[d];
  return {shape[0], cols};
}

double muon_update_scale(std::int64_t rows, std::int64_t cols, MuonUpdateScale rule) {
  const double r = static_cast<double>(rows), c = static_cast<double>(cols);
  if (rule == MuonUpdateScale::kOriginal) return std::sqrt(std::max(1.0, r / c));
  return 0.2 * std::sqrt(std::max(r, c));
}

// ---- MuonFamily ----

MuonFamily::MuonFamily(std::string name, std::vector<std::string> buffers, const MuonOptions& optimizer_wide)
    : Optimizer(std::move(name), std::move(buffers)),
      ns_coefficients_(optimizer_wide.ns_coefficients),
      keep_last_orthogonalized_(optimizer_wide.keep_last_orthogonalized) {
  RG_CHECK(!ns_coefficients_.empty(), this->name(), ": the Newton-Schulz coefficient schedule is empty");
}

void MuonFamily::check_matrices() const {
  for (std::size_t g = 0; g < num_groups(); ++g) {
    for (std::size_t i = 0; i < group_params(g).size(); ++i) {
      muon_matrix_shape(group_params(g)[i].shape(), param_key(g, i));  // throws for vectors
    }
  }
}

void MuonFamily::check_muon_options(const MuonOptions& o, std::size_t g, bool momentum_form) const {
  check_option_range(name(), g, "lr", o.lr, 0, INFINITY, false);
  check_option_range(name(), g, "momentum", o.momentum, 0, 1, false);
  check_option_range(name(), g, "weight_decay", o.weight_decay, 0, INFINITY, false);
  check_option_range(name(), g, "ns_eps", o.ns_eps, 0, INFINITY, false);
  RG_CHECK(!momentum_form || o.momentum_form == MuonMomentumForm::kEma || o.momentum_form == MuonMomentumForm::kSummed,
           name(), ": invalid momentum_form = ", static_cast<int>(o.momentum_form), " in param group ", g,
           " (expected 0 ema or 1 summed)");
  RG_CHECK(o.update_scale == MuonUpdateScale::kOriginal || o.update_scale == MuonUpdateScale::kMatchAdamWRms, name(),
           ": invalid update_scale = ", static_cast<int>(o.update_scale), " in param group ", g,
           " (expected 0 original or 1 match_adamw_rms)");
  RG_CHECK(o.ns_steps >= 0 && o.ns_steps < 1000, name(), ": invalid ns_steps = ", o.ns_steps, " in param group ", g,
           " (expected an integer in [0, 999])");
  RG_CHECK(o.ns_precision == NewtonSchulzPrecision::kAuto || o.ns_precision == NewtonSchulzPrecision::kInputDtype ||
               o.ns_precision == NewtonSchulzPrecision::kBFloat16,
           name(), ": invalid ns_precision = ", static_cast<int>(o.ns_precision), " in param group ", g,
           " (expected 0 auto, 1 input_dtype or 2 bf16)");
  RG_CHECK(
      same_coefficients(o.ns_coefficients, ns_coefficients_) && o.keep_last_orthogonalized == keep_last_orthogonalized_,
      name(), ": param group ", g,
      " has other ns_coefficients or keep_last_orthogonalized than the optimizer; they are optimizer-wide");
}

void MuonFamily::momentum_step() {
  for_each_param_with_grad([&](ParamStep& p) {
    const MuonOptions& o = muon_options(p.group);
    const double beta = o.momentum;
    const bool ema = o.momentum_form == MuonMomentumForm::kEma;
    if (p.state.step == 0) p.state.buffers["momentum_buffer"] = zeros_like(p.param);
    const Tensor& momentum = buffer(p.state, "momentum_buffer", p.group, p.index);
    p.state.step += 1;

    raw::mul_(momentum, beta);  // M = beta M + (1 - beta) G   or   M = beta M + G
    raw::add_(momentum, p.grad, ema ? 1 - beta : 1.0);
    Tensor direction = momentum;
    if (o.nesterov) {  // U = (1 - beta) G + beta M   or   U = G + beta M
      direction = raw::clone(p.grad);
      if (ema) raw::mul_(direction, 1 - beta);
      raw::add_(direction, momentum, beta);
    }
    apply_orthogonalized_update(p.param, direction, p.state, p.group, p.index);
  });
}

void MuonFamily::apply_orthogonalized_update(const Tensor& param, const Tensor& direction, ParamState& state,
                                             std::size_t g, std::size_t i) {
  const MuonOptions& o = muon_options(g);
  const Shape matrix = muon_matrix_shape(param.shape(), param_key(g, i));
  const NewtonSchulzOptions ns{
      .coefficients = ns_coefficients_, .steps = o.ns_steps, .eps = o.ns_eps, .precision = o.ns_precision};
  Tensor orthogonalized = newton_schulz(raw::reshape(direction, matrix), ns);
  if (keep_last_orthogonalized_) last_orthogonalized_[param.impl_ptr().get()] = orthogonalized;
  orthogonalized = after_orthogonalize(orthogonalized, state, g, i);

  const double scale = muon_update_scale(matrix[0], matrix[1], o.update_scale);
  if (o.weight_decay != 0) raw::mul_(param, 1 - o.lr * o.weight_decay);  // W = W (1 - lr wd)
  raw::add_(raw::view(param, matrix), orthogonalized, -o.lr * scale);    // W = W - lr s O
}

Tensor MuonFamily::after_orthogonalize(const Tensor& orthogonalized, ParamState&, std::size_t, std::size_t) {
  return orthogonalized;
}

const Tensor* MuonFamily::last_orthogonalized(const Tensor& param) const {
  const auto it = last_orthogonalized_.find(param.impl_ptr().get());
  return it == last_orthogonalized_.end() ? nullptr : &it->second;
}

std::string MuonFamily::describe_muon_options(const MuonOptions& o, bool momentum_form) const {
  std::ostringstream out;
  out << "lr=" << o.lr << " momentum=" << o.momentum;
  if (momentum_form) {
    out << " momentum_form=" << form_name(o.momentum_form) << " nesterov=" << (o.nesterov ? "true" : "false");
  }
  out << " weight_decay=" << o.weight_decay << " update_scale=" << scale_name(o.update_scale)
      << " ns_steps=" << o.ns_steps << " ns_coefficients=[";
  for (std::size_t k = 0; k < ns_coefficients_.size(); ++k) {
    const NewtonSchulzCoefficients& c = ns_coefficients_[k];
    out << (k ? ", " : "") << "(" << c.a << ", " << c.b << ", " << c.c << ")";
  }
  out << "] ns_eps=" << o.ns_eps << " ns_precision=" << to_string(o.ns_precision)
      << (o.ns_precision == NewtonSchulzPrecision::kAuto ? " (bf16 on CUDA, the parameter's dtype on the CPU)" : "")
      << " keep_last_orthogonalized=" << (keep_last_orthogonalized_ ? "true" : "false");
  return out.str();
}

// ---- Muon ----

Muon::Muon(std::vector<Tensor> params, MuonOptions options) : Muon({Group{std::move(params), {}, options}}) {}

Muon::Muon(std::vector<Group> groups)
    : TypedOptimizer("Muon", std::vector<std::string>{"momentum_buffer"},
                     groups.empty() ? MuonOptions{} : groups.front().options) {
  for (Group& group : groups) add_param_group(std::move(group));
  check_matrices();
}

Muon::Muon(std::string name, std::vector<std::string> buffers, const MuonOptions& optimizer_wide)
    : TypedOptimizer(std::move(name), std::move(buffers), optimizer_wide) {}

void Muon::check_options(const MuonOptions& options, std::size_t g) const { check_muon_options(options, g, true); }

void Muon::step() { momentum_step(); }

std::string Muon::describe() const {
  std::ostringstream out;
  for (std::size_t g = 0; g < param_groups().size(); ++g) {
    const Group& group = param_groups()[g];
    out << name() << " group " << g << " (" << group.params.size()
        << " params): " << describe_muon_options(group.options, saves_option("momentum_form")) << "\n";
  }
  return out.str();
}

}  // namespace recgrad
