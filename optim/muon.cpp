// Muon (see muon.h for the update). Muon::step is the whole algorithm:
// momentum, Nesterov, then apply_orthogonalized_update (Newton-Schulz, update
// scale, decoupled weight decay). Everything is composed of raw ops, so the
// same code runs on the CPU and on CUDA.
#include "optim/muon.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "autograd/grad_mode.h"
#include "core/factory.h"
#include "core/ops/binary.h"
#include "core/ops/copy.h"
#include "core/ops/view.h"

namespace recgrad {

namespace {

// Throws unless option `key` of group `g` is one of the integers 0 .. count - 1.
void check_choice(const std::string& optimizer, std::size_t g, const ParamGroup& group, const std::string& key,
                  int count) {
  const double value = group.option(key);
  RG_CHECK(value >= 0 && value < count && value == std::floor(value), optimizer, ": invalid ", key, " = ", value,
           " in param group ", g, " (expected an integer in [0, ", count - 1, "])");
}

const char* form_name(double form) { return form == 0 ? "ema" : "summed"; }
const char* scale_name(double rule) {
  return rule == 0 ? "original sqrt(max(1,rows/cols))" : "match_adamw_rms 0.2*sqrt(max(rows,cols))";
}

}  // namespace

std::map<std::string, double> MuonOptions::to_map() const {
  return {{"lr", lr},
          {"momentum", momentum},
          {"nesterov", nesterov ? 1.0 : 0.0},
          {"momentum_form", static_cast<double>(momentum_form)},
          {"weight_decay", weight_decay},
          {"update_scale", static_cast<double>(update_scale)},
          {"ns_steps", static_cast<double>(ns_steps)},
          {"ns_eps", ns_eps},
          {"ns_precision", static_cast<double>(ns_precision)}};
}

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

Muon::Muon(std::vector<Tensor> params, MuonOptions options) : Muon({ParamGroup{std::move(params), {}, {}}}, options) {}

Muon::Muon(std::vector<ParamGroup> groups, MuonOptions defaults)
    : Muon("Muon", defaults.to_map(), {"momentum_buffer"}, defaults) {
  add_matrix_groups(std::move(groups));
}

Muon::Muon(std::string name, std::map<std::string, double> defaults, std::vector<std::string> buffers,
           const MuonOptions& optimizer_wide)
    : Optimizer(std::move(name), std::move(defaults), std::move(buffers)),
      ns_coefficients_(optimizer_wide.ns_coefficients),
      keep_last_orthogonalized_(optimizer_wide.keep_last_orthogonalized) {
  RG_CHECK(!ns_coefficients_.empty(), this->name(), ": the Newton-Schulz coefficient schedule is empty");
}

void Muon::add_matrix_groups(std::vector<ParamGroup> groups) {
  for (ParamGroup& group : groups) add_param_group(std::move(group));
  for (std::size_t g = 0; g < param_groups().size(); ++g) {
    for (std::size_t i = 0; i < param_groups()[g].params.size(); ++i) {
      muon_matrix_shape(param_groups()[g].params[i].shape(), param_key(g, i));  // throws for vectors
    }
  }
}

void Muon::check_options(const ParamGroup& group, std::size_t g) const {
  check_option_range(name(), g, "lr", group.option("lr"), 0, INFINITY, false);
  check_option_range(name(), g, "momentum", group.option("momentum"), 0, 1, false);
  check_option_range(name(), g, "weight_decay", group.option("weight_decay"), 0, INFINITY, false);
  check_option_range(name(), g, "ns_eps", group.option("ns_eps"), 0, INFINITY, false);
  check_choice(name(), g, group, "nesterov", 2);
  check_choice(name(), g, group, "momentum_form", 2);
  check_choice(name(), g, group, "update_scale", 2);
  check_choice(name(), g, group, "ns_steps", 1000);
  check_choice(name(), g, group, "ns_precision", 3);
}

NewtonSchulzOptions Muon::ns_options(const ParamGroup& group) const {
  return {.coefficients = ns_coefficients_,
          .steps = static_cast<int>(group.option("ns_steps")),
          .eps = group.option("ns_eps"),
          .precision = static_cast<NewtonSchulzPrecision>(static_cast<int>(group.option("ns_precision")))};
}

void Muon::step() {
  NoGradGuard no_grad;
  const std::vector<ParamGroup>& groups = param_groups();
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const ParamGroup& group = groups[g];
    const double beta = group.option("momentum");
    const bool nesterov = group.option("nesterov") != 0;
    const bool ema = group.option("momentum_form") == static_cast<double>(MuonMomentumForm::kEma);
    for (std::size_t i = 0; i < group.params.size(); ++i) {
      const Tensor& param = group.params[i];
      if (!param.grad().defined()) continue;
      check_devices(param, param.grad(), find_state(param), g, i);
      const Tensor grad = raw::contiguous(param.grad());
      ParamState& state = this->state(param);
      if (state.step == 0) state.buffers["momentum_buffer"] = zeros_like(param);
      const Tensor& momentum = buffer(state, "momentum_buffer", g, i);
      state.step += 1;

      raw::mul_(momentum, beta);  // M = beta M + (1 - beta) G   or   M = beta M + G
      raw::add_(momentum, grad, ema ? 1 - beta : 1.0);
      Tensor direction = momentum;
      if (nesterov) {  // U = (1 - beta) G + beta M   or   U = G + beta M
        direction = raw::clone(grad);
        if (ema) raw::mul_(direction, 1 - beta);
        raw::add_(direction, momentum, beta);
      }
      apply_orthogonalized_update(param, direction, state, g, i);
    }
  }
}

void Muon::apply_orthogonalized_update(const Tensor& param, const Tensor& direction, ParamState& state, std::size_t g,
                                       std::size_t i) {
  const ParamGroup& group = param_groups()[g];
  const Shape matrix = muon_matrix_shape(param.shape(), param_key(g, i));
  Tensor orthogonalized = newton_schulz(raw::reshape(direction, matrix), ns_options(group));
  if (keep_last_orthogonalized_) last_orthogonalized_[param.impl_ptr().get()] = orthogonalized;
  orthogonalized = after_orthogonalize(orthogonalized, state, g, i);

  const auto rule = static_cast<MuonUpdateScale>(static_cast<int>(group.option("update_scale")));
  const double scale = muon_update_scale(matrix[0], matrix[1], rule);
  const double lr = group.option("lr"), weight_decay = group.option("weight_decay");
  if (weight_decay != 0) raw::mul_(param, 1 - lr * weight_decay);    // W = W (1 - lr wd)
  raw::add_(raw::view(param, matrix), orthogonalized, -lr * scale);  // W = W - lr s O
  param.bump_version();
}

Tensor Muon::after_orthogonalize(const Tensor& orthogonalized, ParamState&, std::size_t, std::size_t) {
  return orthogonalized;
}

const Tensor* Muon::last_orthogonalized(const Tensor& param) const {
  const auto it = last_orthogonalized_.find(param.impl_ptr().get());
  return it == last_orthogonalized_.end() ? nullptr : &it->second;
}

std::string Muon::describe_muon_options(const ParamGroup& group) const {
  std::ostringstream out;
  out << "lr=" << group.option("lr") << " momentum=" << group.option("momentum");
  if (group.options.count("momentum_form")) out << " momentum_form=" << form_name(group.option("momentum_form"));
  if (group.options.count("nesterov")) out << " nesterov=" << (group.option("nesterov") != 0 ? "true" : "false");
  out << " weight_decay=" << group.option("weight_decay")
      << " update_scale=" << scale_name(group.option("update_scale")) << " ns_steps=" << group.option("ns_steps")
      << " ns_coefficients=[";
  for (std::size_t k = 0; k < ns_coefficients_.size(); ++k) {
    const NewtonSchulzCoefficients& c = ns_coefficients_[k];
    out << (k ? ", " : "") << "(" << c.a << ", " << c.b << ", " << c.c << ")";
  }
  const auto precision = static_cast<NewtonSchulzPrecision>(static_cast<int>(group.option("ns_precision")));
  out << "] ns_eps=" << group.option("ns_eps") << " ns_precision=" << to_string(precision)
      << (precision == NewtonSchulzPrecision::kAuto ? " (bf16 on CUDA, the parameter's dtype on the CPU)" : "")
      << " keep_last_orthogonalized=" << (keep_last_orthogonalized_ ? "true" : "false");
  return out.str();
}

std::string Muon::describe() const {
  std::ostringstream out;
  for (std::size_t g = 0; g < param_groups().size(); ++g) {
    const ParamGroup& group = param_groups()[g];
    out << name() << " group " << g << " (" << group.params.size() << " params): " << describe_muon_options(group)
        << "\n";
  }
  return out.str();
}

}  // namespace recgrad
