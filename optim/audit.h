// The optimizer audit: what an optimizer step did to each weight, measured rather
// than assumed, so the same audit explains SGD, AdamW, Muon or a hybrid. Off by
// default; when on, every `every` steps it records per parameter (g = the gradient
// the step used, u = p_after - p_before the update it made, w = p_before):
//   grad_norm ||g||, update_norm ||u||, update_rms ||u|| / sqrt(numel),
//   update_spectral_norm   sigma_max(u) of u as a [rows, numel/rows] matrix (power iteration)
//   cos_update_grad        <u, g> / (||u|| ||g||)   (-1 for gradient descent)
//   gain                   <g, u>: the first-order change of the loss, L(w+u) ~ L(w) + <g,u> + u^T H u / 2
//   uhu                    u^T H u with H the Hessian block of this parameter (the others held fixed)
//   sharpness              uhu / ||u||^2: the normalized directional sharpness, the curvature
//                          along the update (Pan & Li, "Toward Understanding Why Adam Converges
//                          Faster Than SGD for Transformers", 2023)
//   uhu_share              <u_l, (H u)_l>: this parameter's part of the whole model's u^T H u
//   for an orthogonalizing optimizer (Muon): with X its Newton-Schulz output and
//   Y = X (rows <= cols) or X^T, n = min(rows, cols):
//   ortho_error            ||Y Y^T - I||_F / sqrt(n)
//   sv_max, sv_min, sv_spread   the extreme singular values of X and their ratio, from the
//                          eigenvalues of the n x n Gram matrix Y Y^T (cyclic Jacobi)
// and per step one model record with the same curvature numbers for the whole update
// (all parameters moved together) and the audit's own cost in seconds.
//
// The curvature needs H u at w on the batch of the step, which takes a closure that
// recomputes that batch's loss (deterministically: same batch, dropout off or seeded):
//   H u ~ (grad L(w + eps u) - grad L(w - eps u)) / (2 eps),   eps = r * max(||w||, ||u||) / ||u||
// a central difference (error O(eps^2) times the third derivative; exact for a
// quadratic) whose perturbation eps ||u|| is r = 1e-3 of the weights' norm, large
// enough that f32 gradients differ in many digits, small enough to stay local.
//
//   OptimizerAudit audit(params, {.enabled = true, .every = 100, .path = "audit.jsonl"});
//   loss.backward();
//   audit.step(step, [&] { opt.step(); }, [&] { return model_loss(batch); });
//
// Records are JSON lines, one per parameter and one "model" record per audited step,
// each flushed as it is written.
//
// Cost per audited step (tools/bench/bench_audit.cpp, SASRec-sized, 12k items, 2 CPU cores,
// a training step ~140 ms): the curvature-free numbers ~50 ms (mostly the power iteration on
// the item embedding's update); with the whole-model u^T H u (2 more gradients) ~220 ms; with
// every matrix's own u^T H u (2 gradients per matrix, 22 in all) ~1.7 s, about 12 steps.
// Audit every 100 steps or more, or set per_parameter_curvature = false.
#pragma once

#include <cstdint>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace recgrad {

struct AuditOptions {
  bool enabled = false;
  std::int64_t every = 100;  // audit when step % every == 0
  std::string path;          // JSON lines file (truncated when the audit opens it); "" = no file
  /// >= 0: a resumed run; the file keeps its records of steps before this one and the audit appends after them
  /// (records of later steps, written before an interruption, are dropped: the resumed run writes them again).
  std::int64_t resume_at_step = -1;
  int power_iterations = 30;               // for update_spectral_norm
  std::uint64_t seed = 0;                  // of the power iteration's start vectors
  bool curvature = true;                   // gain is always measured; uhu/sharpness need a loss closure
  double hvp_relative_step = 1e-3;         // r in eps = r * max(||w||, ||u||) / ||u||
  bool per_parameter_curvature = true;     // the block uhu of each parameter: 2 extra gradients each
  std::int64_t per_parameter_min_dim = 2;  // ... for parameters with at least this many dimensions
  std::int64_t max_gram_size = 512;        // larger n skips the singular-value numbers
};

/// A parameter the audit follows, with the optimizer that updates it (a label).
struct AuditedParameter {
  std::string name;
  Tensor param;
  std::string optimizer;
};

/// NaN: "not measured" in the records below.
inline constexpr double kNotMeasured = std::numeric_limits<double>::quiet_NaN();

/// The numbers of one parameter at one audited step; NaN where not measured.
struct ParameterAudit {
  std::string name;
  std::string optimizer;
  Shape shape;
  double grad_norm = 0, update_norm = 0, update_rms = 0;
  double update_spectral_norm = kNotMeasured;
  double cos_update_grad = kNotMeasured;
  double gain = 0;
  double uhu = kNotMeasured, sharpness = kNotMeasured, uhu_share = kNotMeasured;
  double ortho_error = kNotMeasured, sv_max = kNotMeasured, sv_min = kNotMeasured, sv_spread = kNotMeasured;
};

/// The whole model at one audited step.
struct ModelAudit {
  double grad_norm = 0, update_norm = 0, gain = 0;
  double uhu = kNotMeasured, sharpness = kNotMeasured;
  double predicted_loss_change = kNotMeasured;  // gain + uhu / 2
  double step_seconds = 0;                      // the optimizer step itself
  double audit_seconds = 0;                     // everything the audit added to the step
  std::int64_t gradient_evaluations = 0;        // closure calls (2 per Hessian-vector product)
};

struct AuditStepReport {
  std::int64_t step = 0;
  std::vector<ParameterAudit> parameters;
  ModelAudit model;
};

/// The cost of the audit so far.
struct AuditSummary {
  std::int64_t audited_steps = 0;
  double audit_seconds = 0;  // total
  double seconds_per_audited_step() const { return audited_steps ? audit_seconds / audited_steps : 0.0; }
};

/// Recomputes the loss of the current batch (records a graph; the audit calls backward()).
using LossClosure = std::function<Tensor()>;
/// The orthogonalized matrices an optimizer applied to `param` at its last step (one
/// per row block it orthogonalized separately), or none.
using OrthogonalizedProvider = std::function<std::vector<Tensor>(const std::string& name, const Tensor& param)>;

class OptimizerAudit {
 public:
  OptimizerAudit(std::vector<AuditedParameter> parameters, AuditOptions options = {});

  /// Where the Newton-Schulz outputs come from (e.g. HybridOptimizer::last_orthogonalized).
  void set_orthogonalized_provider(OrthogonalizedProvider provider) { orthogonalized_ = std::move(provider); }

  /// Whether step `step` is audited: enabled and step % every == 0.
  bool due(std::int64_t step) const;

  /// Runs `optimizer_step`; when the step is due, measures it (the gradients of the
  /// parameters are those the step used) and writes and returns the records. Without
  /// `loss` (or with curvature off) the uhu/sharpness numbers are NaN. After it the
  /// parameters hold the optimizer's result and their gradients are as before.
  AuditStepReport step(std::int64_t step, const std::function<void()>& optimizer_step, const LossClosure& loss = {});

  const AuditSummary& summary() const { return summary_; }
  const AuditOptions& options() const { return options_; }

 private:
  void write(const std::string& line);

  std::vector<AuditedParameter> parameters_;
  AuditOptions options_;
  OrthogonalizedProvider orthogonalized_;
  std::unique_ptr<std::ofstream> out_;
  AuditSummary summary_;
};

/// The JSON line of a parameter record / of a model record (NaN numbers left out).
std::string audit_record_json(std::int64_t step, const ParameterAudit& record);
std::string audit_record_json(std::int64_t step, const ModelAudit& record, const AuditSummary& summary);

// ---- the measurements, usable on their own ----

/// H v at the parameters' current values, per parameter, by the central difference
/// (grad L(w + eps v) - grad L(w - eps v)) / (2 eps). directions[i] is v for
/// params[i] (its numel values, row-major) or empty for v = 0 there. The parameters
/// are restored bit for bit, and their gradients are as before.
std::vector<std::vector<double>> hessian_vector_product(const std::vector<Tensor>& params,
                                                        const std::vector<std::vector<double>>& directions,
                                                        const LossClosure& loss, double eps);

/// sigma_max of the row-major [rows, cols] matrix m by `iterations` rounds of power
/// iteration on m^T m from a seeded random start (a lower bound that converges to sigma_max).
double spectral_norm(const std::vector<double>& m, std::int64_t rows, std::int64_t cols, int iterations,
                     std::uint64_t seed);

/// The eigenvalues of the symmetric row-major n x n matrix a, ascending (cyclic Jacobi).
std::vector<double> symmetric_eigenvalues(std::vector<double> a, std::int64_t n);

/// Orthogonality of the [rows, cols] matrix x (see the top of the file).
struct OrthogonalityStats {
  double ortho_error = 0, sv_max = 0, sv_min = 0;
};
OrthogonalityStats orthogonality_stats(const std::vector<double>& x, std::int64_t rows, std::int64_t cols);

}  // namespace recgrad
