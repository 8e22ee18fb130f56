// The trainer: seeded, reproducible training of one recommender with one optimizer on one dataset, with
// periodic full-ranking evaluation on the validation split, early stopping, restoring the best weights, one
// test evaluation, and atomic checkpoints from which an interrupted run resumes on the same trajectory.
//
// What it records is what the comparison of optimizers needs: the validation curve, the step at which the
// best validation NDCG@10 was reached ("steps to converge"), and the curve itself so that recbench can find
// the step at which each run first reached the AdamW run's best NDCG@10 (time-to-target).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/rng.h"
#include "datasets/sequence_dataset.h"
#include "optim/audit.h"
#include "recsys/metrics.h"
#include "recsys/model.h"
#include "recsys/training_optimizer.h"

namespace recgrad::recsys {

struct TrainerOptions {
  std::int64_t batch_size = 256;  // (the history window is the model's: SequentialRecommender::history_length())
  std::int64_t max_epochs = 50;   // budgets: the first one reached stops training (0 = no limit)
  std::int64_t max_steps = 0;
  double max_minutes = 0.0;
  std::int64_t eval_every = 0;  // evaluate every this many steps; 0 = once per epoch
  std::int64_t patience = 5;    // stop after this many evaluations without a better valid NDCG@selection_k
  /// Model selection and early stopping read validation NDCG@selection_k (one of the reported cut-offs 1, 5, 10,
  /// 20; MuonRec selects on NDCG@20).
  std::int64_t selection_k = 10;
  /// Cosine annealing of every group's lr (optim/lr_schedule.h cosine_annealing_lr), stepped once per epoch as
  /// MuonRec does (T_max 500, eta_min 1e-6); 0 = a constant lr.
  std::int64_t cosine_t_max = 0;
  double cosine_eta_min = 0.0;
  std::uint64_t seed = 0;  // weights, batch order, dropout and negative samples all follow from it
  Device device = Device::cpu();
  LossKind loss = LossKind::full_softmax;
  std::int64_t negatives = 1;  // per row, for LossKind::sampled_bce
  std::int64_t eval_batch_size = 1024;
  std::int64_t eval_max_rows = 0;  // evaluate on the first rows of a split only (0 = all); for quick runs
  /// Also record the model's mean loss (its own objective; for a generative model the next-SID token
  /// cross-entropy) on the validation rows at each evaluation: EvalPoint::valid_loss.
  bool valid_loss = false;
  double clip_grad_norm = 0.0;     // 0 = no clipping
  /// Divergence bound: the run stops with an error naming the step when a batch's loss exceeds
  /// max_loss_factor * max(first batch's loss, 1). A healthy run never climbs far above its first loss
  /// (full softmax starts near ln(num_items)); 0 = no bound.
  double max_loss_factor = 1e3;
  /// "" = no checkpoints; else written atomically after every evaluation and when the run ends. A checkpoint
  /// records the run's configuration (run_configuration() below) and is refused, naming the fields that differ,
  /// when resumed under another one. A finished run (stopped by patience, or by a budget that still binds)
  /// resumes to its stored result without training; a larger budget continues it.
  std::string checkpoint_path;
  bool resume = true;  // resume from checkpoint_path when it exists
  /// Fields the caller adds to the run's configuration (recbench: the protocol), checked on resume like the rest.
  std::map<std::string, std::string> extra_configuration;
  /// The optimizer audit (optim/audit.h), off by default. Its loss closure replays the step's batch with the
  /// same dropout masks, and the random streams are put back afterwards, so an audited run follows the same
  /// trajectory as an unaudited one.
  AuditOptions audit;
};

/// The model-level audit numbers of one audited step (the per-parameter records go to the JSON lines file).
struct AuditPoint {
  std::int64_t step = 0;
  ModelAudit model;
};

/// One validation evaluation.
struct EvalPoint {
  std::int64_t step = 0;    // optimizer steps taken so far
  std::int64_t epoch = 0;   // epochs completed (fractional progress is in step)
  double train_loss = 0.0;  // mean training loss since the previous evaluation
  double seconds = 0.0;     // training wall time so far (evaluation excluded)
  RankingMetrics valid;
  double valid_loss = -1.0;  // the mean loss on the validation rows; -1 unless TrainerOptions::valid_loss
};

struct TrainResult {
  std::vector<EvalPoint> curve;
  std::int64_t best_step = 0;       // step of the best valid NDCG@selection_k ("steps to converge")
  double best_valid_ndcg10 = -1.0;  // valid NDCG@10 at best_step
  RankingMetrics best_valid;
  RankingMetrics test;  // of the restored best weights
  std::int64_t steps = 0;
  std::int64_t epochs = 0;
  double train_seconds = 0.0;  // excluding evaluation and the optimizer audit's own measurements
  double total_seconds = 0.0;
  std::string stop_reason;  // "patience", "max_epochs", "max_steps", "max_minutes"
  bool resumed = false;
  std::vector<AuditPoint> audit;  // empty unless options.audit.enabled
  double audit_seconds_per_step = 0.0;
};

/// What the trainer reports as it goes (recbench prints a progress line from it).
struct TrainProgress {
  std::int64_t step = 0, epoch = 0, steps_per_epoch = 0, max_steps = 0;
  double loss = 0.0;              // the last batch's loss
  double last_valid_ndcg10 = -1;  // -1 before the first evaluation
  double last_valid_loss = -1;    // -1 before the first evaluation or unless TrainerOptions::valid_loss
  double seconds = 0.0;
  double eta_seconds = -1;  // -1 when unknown
  bool evaluated = false;   // true when reported right after a validation evaluation
};

/// [B, count] negatives (CPU, i64) for targets [B]: uniform over the items 1..num_items other than each row's target
/// (r drawn from 1..num_items-1; r >= target becomes r + 1), from `generator`.
Tensor sample_negatives(const Tensor& targets, std::int64_t count, std::int64_t num_items, Generator* generator);

/// Everything that makes a run what it is, as field -> text: the model and optimizer (their describe(), which lists
/// every hyperparameter and the routing), the history window, batch size, loss, negatives, evaluation settings,
/// clipping, device, seed, the audit, the data's fingerprint and options.extra_configuration. Budgets and patience
/// are not in it: a run may be resumed with a larger budget.
std::map<std::string, std::string> run_configuration(const SequentialRecommender& model,
                                                     const TrainingOptimizer& optimizer,
                                                     const datasets::SequenceDataset& data,
                                                     const TrainerOptions& options);

/// The step at which `curve` first reaches valid NDCG@10 >= target, or -1 if never.
std::int64_t first_step_reaching(const std::vector<EvalPoint>& curve, double target_ndcg10);

/// Full-ranking metrics of `model` on `split` (no gradients; the model is put in eval mode and restored).
RankingMetrics evaluate(SequentialRecommender& model, const datasets::Split& split, const TrainerOptions& options);

/// The model's mean loss (options.loss's full-softmax form: no negatives are drawn) over the rows of `split`,
/// weighting each batch by its rows; no gradients, eval mode, restored afterwards.
double mean_loss(SequentialRecommender& model, const datasets::Split& split, const TrainerOptions& options);

/// A fixed subset of `split`: `rows` rows evenly spread over it, row floor(i * size / rows) for i = 0..rows-1,
/// in order (the whole split when rows is 0 or not below its size). The same rows at every evaluation and in
/// every run, so validation scores of runs and optimizers stay comparable.
datasets::Split spread_rows(const datasets::Split& split, std::int64_t rows);

/// Trains `model` with `optimizer` on `data` (see the top of this file). The model and optimizer must be freshly
/// built from options.seed for a run to be reproducible.
/// Throws recgrad::Error naming the first field of `options` that no run can use (a non-positive batch size,
/// patience or negative count, a negative budget or interval, no budget at all, a selection cut-off that is not
/// evaluated, a non-finite or negative lr bound, ...). train() calls it first; callers may call it before any
/// work (recbench does, before loading data).
void check_trainer_options(const TrainerOptions& options);

TrainResult train(SequentialRecommender& model, TrainingOptimizer& optimizer, const datasets::SequenceDataset& data,
                  const TrainerOptions& options, const std::function<void(const TrainProgress&)>& progress = {});

}  // namespace recgrad::recsys
