// The optimizer audit (see audit.h for every formula). The numbers are computed on
// the host in double precision from copies of the tensors: the audit runs once
// every N steps, and plain loops over doubles are easy to check against the formulas.
#include "optim/audit.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>
#include <utility>

#include "autograd/grad_mode.h"
#include "core/error.h"
#include "core/factory.h"
#include "core/host_random.h"
#include "core/ops/copy.h"

namespace recgrad {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// The values of `t` (any device, dtype, strides) as row-major doubles.
std::vector<double> to_host(const Tensor& t) {
  return raw::contiguous(raw::to_dtype(raw::to_device(t, Device::cpu()), DType::f64)).to_vector<double>();
}

// param[:] = values (converted to the parameter's dtype and device).
void write_values(const Tensor& param, const std::vector<double>& values) {
  const Tensor source =
      raw::to_device(raw::to_dtype(from_vector<double>(values, param.shape()), param.dtype()), param.device());
  raw::copy_(param, source);
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  return std::inner_product(a.begin(), a.end(), b.begin(), 0.0);
}

double norm(const std::vector<double>& a) { return std::sqrt(dot(a, a)); }

// Restores the parameters' values (from clones) and gradients when it leaves scope, also on an exception.
class ParameterRestorer {
 public:
  explicit ParameterRestorer(const std::vector<Tensor>& params) : params_(params) {
    for (const Tensor& p : params_) grads_.push_back(p.grad());
  }
  // Remembers the current value of params_[i] (once).
  void save_value(std::size_t i) {
    if (values_.empty()) values_.resize(params_.size());
    if (!values_[i].defined()) values_[i] = raw::clone(params_[i]);
  }
  ~ParameterRestorer() {
    NoGradGuard no_grad;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      if (i < values_.size() && values_[i].defined()) raw::copy_(params_[i], values_[i]);
      params_[i].set_grad(grads_[i]);
    }
  }
  ParameterRestorer(const ParameterRestorer&) = delete;
  ParameterRestorer& operator=(const ParameterRestorer&) = delete;

 private:
  std::vector<Tensor> params_;
  std::vector<Tensor> grads_;
  std::vector<Tensor> values_;
};

// eps of the central difference along u at w: eps ||u|| = r * max(||w||, ||u||).
double hvp_step(double weight_norm, double update_norm, double relative_step) {
  return relative_step * std::max(weight_norm, update_norm) / update_norm;
}

void put(nlohmann::json& json, const char* key, double value) {
  if (std::isfinite(value)) json[key] = value;
}

}  // namespace

// ---- measurements ----

std::vector<std::vector<double>> hessian_vector_product(const std::vector<Tensor>& params,
                                                        const std::vector<std::vector<double>>& directions,
                                                        const LossClosure& loss, double eps) {
  RG_CHECK(directions.size() == params.size(), "hessian_vector_product: ", params.size(), " parameters but ",
           directions.size(), " directions");
  RG_CHECK(static_cast<bool>(loss), "hessian_vector_product: no loss closure");
  RG_CHECK(eps > 0 && std::isfinite(eps), "hessian_vector_product: the step eps = ", eps, " must be positive");
  std::vector<std::vector<double>> base(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    RG_CHECK(directions[i].empty() || static_cast<std::int64_t>(directions[i].size()) == params[i].numel(),
             "hessian_vector_product: direction ", i, " has ", directions[i].size(),
             " values but the parameter has shape ", params[i].shape());
    if (!directions[i].empty()) base[i] = to_host(params[i]);
  }

  ParameterRestorer restore(params);
  std::vector<std::vector<double>> gradients[2];  // at w + eps v, w - eps v
  for (int side = 0; side < 2; ++side) {
    const double sign = side == 0 ? 1.0 : -1.0;
    {
      NoGradGuard no_grad;
      for (std::size_t i = 0; i < params.size(); ++i) {
        if (directions[i].empty()) continue;
        restore.save_value(i);
        std::vector<double> moved = base[i];
        for (std::size_t k = 0; k < moved.size(); ++k) moved[k] += sign * eps * directions[i][k];
        write_values(params[i], moved);
      }
      for (const Tensor& p : params) p.set_grad(Tensor());
    }
    {
      GradModeGuard grad_on(true);  // the closure must record a graph even if the caller turned it off
      const Tensor value = loss();
      RG_CHECK(value.defined() && value.numel() == 1, "hessian_vector_product: the loss closure must return a ",
               "one-element tensor");
      value.backward();
    }
    for (const Tensor& p : params) {
      gradients[side].push_back(p.grad().defined() ? to_host(p.grad())
                                                   : std::vector<double>(static_cast<std::size_t>(p.numel()), 0.0));
    }
  }
  std::vector<std::vector<double>> product(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    product[i].resize(gradients[0][i].size());
    for (std::size_t k = 0; k < product[i].size(); ++k) {
      product[i][k] = (gradients[0][i][k] - gradients[1][i][k]) / (2 * eps);
    }
  }
  return product;  // `restore` puts the values and gradients back
}

double spectral_norm(const std::vector<double>& m, std::int64_t rows, std::int64_t cols, int iterations,
                     std::uint64_t seed) {
  RG_CHECK(rows * cols == static_cast<std::int64_t>(m.size()), "spectral_norm: ", m.size(), " values for a [", rows,
           ", ", cols, "] matrix");
  if (m.empty()) return 0;
  std::vector<double> v(static_cast<std::size_t>(cols)), mv(static_cast<std::size_t>(rows));
  HostRandom random(seed);  // the start vector, uniform in [-1, 1) per entry
  for (double& x : v) x = random.uniform() * 2 - 1;
  double sigma = 0;
  for (int it = 0; it < std::max(1, iterations); ++it) {
    const double v_norm = norm(v);
    if (v_norm == 0) return 0;
    for (double& x : v) x /= v_norm;
    for (std::int64_t r = 0; r < rows; ++r) {  // mv = m v
      const double* row = m.data() + r * cols;
      mv[r] = std::inner_product(row, row + cols, v.begin(), 0.0);
    }
    sigma = norm(mv);                    // ||m v|| with ||v|| = 1
    std::fill(v.begin(), v.end(), 0.0);  // v = m^T (m v)
    for (std::int64_t r = 0; r < rows; ++r) {
      const double* row = m.data() + r * cols;
      for (std::int64_t c = 0; c < cols; ++c) v[c] += row[c] * mv[r];
    }
  }
  return sigma;
}

std::vector<double> symmetric_eigenvalues(std::vector<double> a, std::int64_t n) {
  RG_CHECK(n * n == static_cast<std::int64_t>(a.size()), "symmetric_eigenvalues: ", a.size(), " values for ", n, "x",
           n);
  auto at = [&](std::int64_t i, std::int64_t j) -> double& { return a[i * n + j]; };
  const double total = std::inner_product(a.begin(), a.end(), a.begin(), 0.0);
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (std::int64_t p = 0; p < n; ++p) {
      for (std::int64_t q = p + 1; q < n; ++q) off += at(p, q) * at(p, q);
    }
    if (off <= 1e-30 * total) break;
    for (std::int64_t p = 0; p < n; ++p) {
      for (std::int64_t q = p + 1; q < n; ++q) {
        const double apq = at(p, q);
        if (apq == 0) continue;
        // The rotation in the (p, q) plane that zeroes a_pq: t = tan(angle) is the
        // smaller root of t^2 + 2 theta t - 1 = 0.
        const double theta = (at(q, q) - at(p, p)) / (2 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (std::int64_t k = 0; k < n; ++k) {  // columns p, q
          const double akp = at(k, p), akq = at(k, q);
          at(k, p) = c * akp - s * akq;
          at(k, q) = s * akp + c * akq;
        }
        for (std::int64_t k = 0; k < n; ++k) {  // rows p, q
          const double apk = at(p, k), aqk = at(q, k);
          at(p, k) = c * apk - s * aqk;
          at(q, k) = s * apk + c * aqk;
        }
      }
    }
  }
  std::vector<double> eigenvalues(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) eigenvalues[i] = at(i, i);
  std::sort(eigenvalues.begin(), eigenvalues.end());
  return eigenvalues;
}

OrthogonalityStats orthogonality_stats(const std::vector<double>& x, std::int64_t rows, std::int64_t cols) {
  RG_CHECK(rows * cols == static_cast<std::int64_t>(x.size()), "orthogonality_stats: ", x.size(), " values for a [",
           rows, ", ", cols, "] matrix");
  // Gram matrix of the shorter side: Y Y^T with Y = x (rows <= cols) or x^T.
  const bool by_rows = rows <= cols;
  const std::int64_t n = by_rows ? rows : cols, len = by_rows ? cols : rows;
  auto y = [&](std::int64_t i, std::int64_t k) { return by_rows ? x[i * cols + k] : x[k * cols + i]; };
  std::vector<double> gram(static_cast<std::size_t>(n * n), 0.0);
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = i; j < n; ++j) {
      double sum = 0;
      for (std::int64_t k = 0; k < len; ++k) sum += y(i, k) * y(j, k);
      gram[i * n + j] = gram[j * n + i] = sum;
    }
  }
  OrthogonalityStats stats;
  double deviation = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      const double d = gram[i * n + j] - (i == j ? 1.0 : 0.0);
      deviation += d * d;
    }
  }
  stats.ortho_error = n ? std::sqrt(deviation / static_cast<double>(n)) : 0.0;
  const std::vector<double> eigenvalues = symmetric_eigenvalues(std::move(gram), n);
  if (n) {
    stats.sv_min = std::sqrt(std::max(0.0, eigenvalues.front()));
    stats.sv_max = std::sqrt(std::max(0.0, eigenvalues.back()));
  }
  return stats;
}

// ---- records ----

std::string audit_record_json(std::int64_t step, const ParameterAudit& r) {
  nlohmann::json json;
  json["record"] = "parameter";
  json["step"] = step;
  json["param"] = r.name;
  json["optimizer"] = r.optimizer;
  json["shape"] = r.shape;
  put(json, "grad_norm", r.grad_norm);
  put(json, "update_norm", r.update_norm);
  put(json, "update_rms", r.update_rms);
  put(json, "update_spectral_norm", r.update_spectral_norm);
  put(json, "cos_update_grad", r.cos_update_grad);
  put(json, "gain", r.gain);
  put(json, "uhu", r.uhu);
  put(json, "sharpness", r.sharpness);
  put(json, "uhu_share", r.uhu_share);
  put(json, "ortho_error", r.ortho_error);
  put(json, "sv_max", r.sv_max);
  put(json, "sv_min", r.sv_min);
  put(json, "sv_spread", r.sv_spread);
  return json.dump();
}

std::string audit_record_json(std::int64_t step, const ModelAudit& r, const AuditSummary& summary) {
  nlohmann::json json;
  json["record"] = "model";
  json["step"] = step;
  put(json, "grad_norm", r.grad_norm);
  put(json, "update_norm", r.update_norm);
  put(json, "gain", r.gain);
  put(json, "uhu", r.uhu);
  put(json, "sharpness", r.sharpness);
  put(json, "predicted_loss_change", r.predicted_loss_change);
  json["step_seconds"] = r.step_seconds;
  json["audit_seconds"] = r.audit_seconds;
  json["gradient_evaluations"] = r.gradient_evaluations;
  json["audited_steps"] = summary.audited_steps;
  json["audit_seconds_per_audited_step"] = summary.seconds_per_audited_step();
  return json.dump();
}

// ---- the audit ----

OptimizerAudit::OptimizerAudit(std::vector<AuditedParameter> parameters, AuditOptions options)
    : parameters_(std::move(parameters)), options_(std::move(options)) {
  RG_CHECK(options_.every >= 1, "OptimizerAudit: every = ", options_.every, " must be >= 1");
  RG_CHECK(options_.hvp_relative_step > 0, "OptimizerAudit: hvp_relative_step = ", options_.hvp_relative_step,
           " must be positive");
  for (const AuditedParameter& p : parameters_) {
    RG_CHECK(p.param.defined(), "OptimizerAudit: parameter '", p.name, "' is undefined");
  }
  if (options_.enabled && !options_.path.empty()) {
    std::string kept;  // on resume: the records of the steps before the resumed one
    if (options_.resume_at_step >= 0) {
      std::ifstream previous(options_.path);
      for (std::string line; std::getline(previous, line);) {
        const nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (record.is_object() && record.contains("step") && record["step"].is_number_integer() &&
            record["step"].get<std::int64_t>() < options_.resume_at_step) {
          kept += line + "\n";
        }
      }
    }
    out_ = std::make_unique<std::ofstream>(options_.path, std::ios::out | std::ios::trunc);
    RG_CHECK(out_->good(), "OptimizerAudit: cannot open '", options_.path, "' for writing");
    *out_ << kept << std::flush;
  }
}

bool OptimizerAudit::due(std::int64_t step) const { return options_.enabled && step % options_.every == 0; }

void OptimizerAudit::write(const std::string& line) {
  if (!out_) return;
  *out_ << line << '\n';
  out_->flush();
  RG_CHECK(out_->good(), "OptimizerAudit: writing to '", options_.path, "' failed");
}

AuditStepReport OptimizerAudit::step(std::int64_t step, const std::function<void()>& optimizer_step,
                                     const LossClosure& loss) {
  AuditStepReport report;
  report.step = step;
  if (!due(step)) {
    optimizer_step();
    return report;
  }
  const Clock::time_point start = Clock::now();

  // Before: the gradients the step uses and the weights it starts from.
  std::vector<std::size_t> audited;  // indices of the parameters with a gradient
  std::vector<std::vector<double>> grads, before;
  std::vector<Tensor> before_values;
  {
    NoGradGuard no_grad;
    for (std::size_t i = 0; i < parameters_.size(); ++i) {
      const Tensor grad = parameters_[i].param.grad();
      if (!grad.defined()) continue;
      audited.push_back(i);
      grads.push_back(to_host(grad));
      before_values.push_back(raw::clone(parameters_[i].param));
      before.push_back(to_host(before_values.back()));
    }
  }

  const Clock::time_point step_start = Clock::now();
  optimizer_step();
  report.model.step_seconds = seconds_since(step_start);

  // The update each parameter received, and the numbers that need no curvature.
  std::vector<std::vector<double>> updates(audited.size());
  std::vector<Tensor> params;
  double weight_sq = 0;
  for (std::size_t a = 0; a < audited.size(); ++a) {
    const AuditedParameter& entry = parameters_[audited[a]];
    params.push_back(entry.param);
    std::vector<double> after = to_host(entry.param);
    updates[a].resize(after.size());
    for (std::size_t k = 0; k < after.size(); ++k) updates[a][k] = after[k] - before[a][k];

    ParameterAudit r;
    r.name = entry.name;
    r.optimizer = entry.optimizer;
    r.shape = entry.param.shape();
    r.grad_norm = norm(grads[a]);
    r.update_norm = norm(updates[a]);
    r.update_rms = after.empty() ? 0.0 : r.update_norm / std::sqrt(static_cast<double>(after.size()));
    r.gain = dot(grads[a], updates[a]);
    if (r.update_norm > 0 && r.grad_norm > 0) r.cos_update_grad = r.gain / (r.update_norm * r.grad_norm);
    if (entry.param.dim() >= 2) {
      const std::int64_t rows = entry.param.size(0);
      r.update_spectral_norm = spectral_norm(updates[a], rows, entry.param.numel() / std::max<std::int64_t>(rows, 1),
                                             options_.power_iterations, options_.seed + audited[a]);
    }
    if (orthogonalized_) {
      for (const Tensor& block : orthogonalized_(entry.name, entry.param)) {
        if (!block.defined() || block.dim() < 2) continue;
        const std::int64_t rows = block.size(0), cols = block.numel() / std::max<std::int64_t>(rows, 1);
        if (std::min(rows, cols) > options_.max_gram_size) continue;
        const OrthogonalityStats stats = orthogonality_stats(to_host(block), rows, cols);
        // Over several blocks: the worst error and the widest singular-value range.
        r.ortho_error = std::isnan(r.ortho_error) ? stats.ortho_error : std::max(r.ortho_error, stats.ortho_error);
        r.sv_max = std::isnan(r.sv_max) ? stats.sv_max : std::max(r.sv_max, stats.sv_max);
        r.sv_min = std::isnan(r.sv_min) ? stats.sv_min : std::min(r.sv_min, stats.sv_min);
      }
      if (std::isfinite(r.sv_max) && r.sv_min > 0) r.sv_spread = r.sv_max / r.sv_min;
    }
    report.model.grad_norm += r.grad_norm * r.grad_norm;
    report.model.update_norm += r.update_norm * r.update_norm;
    report.model.gain += r.gain;
    weight_sq += dot(before[a], before[a]);
    report.parameters.push_back(std::move(r));
  }
  report.model.grad_norm = std::sqrt(report.model.grad_norm);
  report.model.update_norm = std::sqrt(report.model.update_norm);

  // Curvature at the weights the step started from, on the same batch.
  if (options_.curvature && loss && report.model.update_norm > 0) {
    // The closure's backward also writes gradients of the parameters without one: put those back too.
    std::vector<Tensor> all_params;
    for (const AuditedParameter& entry : parameters_) all_params.push_back(entry.param);
    ParameterRestorer restore_gradients(all_params);
    ParameterRestorer restore_after(params);  // puts the optimizer's result back at the end
    {
      NoGradGuard no_grad;
      for (std::size_t a = 0; a < params.size(); ++a) {
        restore_after.save_value(a);
        raw::copy_(params[a], before_values[a]);
      }
    }
    // The whole update: u^T H u = sum_l <u_l, (H u)_l>.
    const double eps = hvp_step(std::sqrt(weight_sq), report.model.update_norm, options_.hvp_relative_step);
    const std::vector<std::vector<double>> hu = hessian_vector_product(params, updates, loss, eps);
    report.model.gradient_evaluations += 2;
    double total = 0;
    for (std::size_t a = 0; a < params.size(); ++a) {
      report.parameters[a].uhu_share = dot(updates[a], hu[a]);
      total += report.parameters[a].uhu_share;
    }
    report.model.uhu = total;
    report.model.sharpness = total / (report.model.update_norm * report.model.update_norm);
    report.model.predicted_loss_change = report.model.gain + total / 2;

    // Each parameter alone: u_l^T H_ll u_l.
    if (options_.per_parameter_curvature) {
      for (std::size_t a = 0; a < params.size(); ++a) {
        ParameterAudit& r = report.parameters[a];
        if (params[a].dim() < options_.per_parameter_min_dim || r.update_norm == 0) continue;
        std::vector<std::vector<double>> direction(params.size());
        direction[a] = updates[a];
        const double eps_l = hvp_step(norm(before[a]), r.update_norm, options_.hvp_relative_step);
        const std::vector<std::vector<double>> hu_l = hessian_vector_product(params, direction, loss, eps_l);
        report.model.gradient_evaluations += 2;
        r.uhu = dot(updates[a], hu_l[a]);
        r.sharpness = r.uhu / (r.update_norm * r.update_norm);
      }
    }
  }

  report.model.audit_seconds = seconds_since(start) - report.model.step_seconds;
  summary_.audited_steps += 1;
  summary_.audit_seconds += report.model.audit_seconds;
  for (const ParameterAudit& r : report.parameters) write(audit_record_json(step, r));
  write(audit_record_json(step, report.model, summary_));
  return report;
}

}  // namespace recgrad
