#include "recsys/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "core/factory.h"
#include "core/ops/copy.h"
#include "datasets/batching.h"
#include "nn/state_dict.h"
#include "optim/audit.h"
#include "optim/clip_grad.h"
#include "optim/lr_schedule.h"
#include "recsys/checkpoint_file.h"
#include "recsys/item_ids.h"
#include "recsys/metrics_json.h"

namespace recgrad::recsys {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

/// Batches cut to the model's history window, so that model and batcher cannot disagree.
datasets::BatchOptions batch_options(const SequentialRecommender& model, const TrainerOptions& options,
                                     std::int64_t batch_size, bool shuffle) {
  datasets::BatchOptions b;
  b.batch_size = batch_size;
  b.max_length = model.history_length();
  b.shuffle = shuffle;
  b.seed = options.seed;
  b.device = options.device;
  return b;
}

/// The model's view of a batch (the same item ids), and for the sampled loss its negatives.
SequenceBatch to_model_batch(const datasets::Batch& batch, const TrainerOptions& options, std::int64_t num_items,
                             Generator* generator) {
  SequenceBatch out;
  out.history = batch.items;
  out.users = batch.users;
  out.targets = batch.targets;
  if (options.loss != LossKind::full_softmax) {
    out.negatives =  // on the host from a generator of their own, so the stream is the same on every device
        raw::to_device(sample_negatives(batch.targets, options.negatives, num_items, generator), options.device);
  }
  return out;
}

/// Throws naming the step, the model and the optimizer when a gradient holds a NaN or an infinity (the sum of
/// |g| over every gradient, in double, is then not finite). Runs before the step, so no optimizer (Lion's
/// sign(NaN) = 0 included) can hide a divergence.
void check_gradients_finite(const std::vector<Tensor>& parameters, std::int64_t step, const std::string& model,
                            const std::string& optimizer) {
  const double l1 = grad_norm(parameters, 1.0);
  RG_CHECK(std::isfinite(l1), "train: a gradient became non-finite (sum |g| = ", l1, ") at step ", step, " (", model,
           ", ", optimizer, "); the run stops here");
}

double ndcg10(const RankingMetrics& m) { return m.ndcg(10); }

/// Everything about a run in progress that a checkpoint must hold besides weights and optimizer state.
struct RunState {
  std::int64_t step = 0, epoch = 0, batch_in_epoch = 0, bad_evals = 0;
  double loss_sum = 0.0;
  std::int64_t loss_count = 0;
  double train_seconds = 0.0;
  double first_loss = -1.0;  // the first batch's loss (the divergence bound's scale); -1 before it
  std::uint64_t dropout_offset = 0, negative_offset = 0;
  TrainResult result;
  nn::StateDict best_weights;  // CPU copies

  json to_json() const {
    json curve = json::array();
    for (const EvalPoint& p : result.curve) {
      curve.push_back({{"step", p.step},
                       {"epoch", p.epoch},
                       {"train_loss", p.train_loss},
                       {"seconds", p.seconds},
                       {"valid", metrics_to_json(p.valid)},
                       {"valid_loss", p.valid_loss}});
    }
    return {{"step", step},
            {"epoch", epoch},
            {"batch_in_epoch", batch_in_epoch},
            {"bad_evals", bad_evals},
            {"loss_sum", loss_sum},
            {"loss_count", loss_count},
            {"train_seconds", train_seconds},
            {"first_loss", first_loss},
            {"dropout_offset", dropout_offset},
            {"negative_offset", negative_offset},
            {"best_step", result.best_step},
            {"best_valid_ndcg10", result.best_valid_ndcg10},
            {"best_valid", metrics_to_json(result.best_valid)},
            {"curve", curve}};
  }
  void from_json(const json& j) {
    step = j.at("step");
    epoch = j.at("epoch");
    batch_in_epoch = j.at("batch_in_epoch");
    bad_evals = j.at("bad_evals");
    loss_sum = j.at("loss_sum");
    loss_count = j.at("loss_count");
    train_seconds = j.at("train_seconds");
    first_loss = j.value("first_loss", -1.0);
    dropout_offset = j.at("dropout_offset");
    negative_offset = j.at("negative_offset");
    result.best_step = j.at("best_step");
    result.best_valid_ndcg10 = j.at("best_valid_ndcg10");
    result.best_valid = metrics_from_json(j.at("best_valid"));
    result.curve.clear();
    for (const json& p : j.at("curve")) {
      result.curve.push_back({p.at("step"), p.at("epoch"), p.at("train_loss"), p.at("seconds"),
                              metrics_from_json(p.at("valid")), p.at("valid_loss")});
    }
  }
};

nn::StateDict cpu_copy(const nn::StateDict& state) {
  nn::StateDict copy;
  for (const auto& [name, tensor] : state) copy.insert(name, raw::clone(raw::to_device(tensor, Device::cpu())));
  return copy;
}

/// What a finished run stores beside its last state, so that resuming it returns the same result.
json final_to_json(const TrainResult& r) {
  return {{"stop_reason", r.stop_reason},
          {"test", metrics_to_json(r.test)},
          {"total_seconds", r.total_seconds},
          {"audit_seconds_per_step", r.audit_seconds_per_step}};
}

/// One file (recsys/checkpoint_file.h): the weights ("model.*"), the best weights so far ("best.*"), the
/// optimizer state, the run state ("run"), the run's configuration and, once it has ended, its result ("final").
void save_checkpoint(const std::string& path, const nn::StateDict& live_weights, const TrainingOptimizer& optimizer,
                     const RunState& state, const CheckpointConfiguration& configuration,
                     const TrainResult* finished = nullptr) {
  CheckpointWriter checkpoint;
  checkpoint.add_tensors("model.", live_weights);
  checkpoint.add_tensors("best.", state.best_weights);
  checkpoint.add_optimizer_state(optimizer.state_dict());
  checkpoint.set_entry("run", state.to_json());
  checkpoint.set_configuration(configuration);
  if (finished != nullptr) checkpoint.set_entry("final", final_to_json(*finished));
  checkpoint.save(path);
}

/// Loads the checkpoint at `path` into model, optimizer and state; returns its final result when the run had
/// finished (null otherwise). A checkpoint whose checksum fails or is missing, or that another configuration
/// wrote, is refused and never resumed.
std::optional<json> load_checkpoint(const std::string& path, SequentialRecommender& model, TrainingOptimizer& optimizer,
                                    RunState& state, const CheckpointConfiguration& configuration) {
  const CheckpointContents contents(path, {.reader = "resume", .run = "run", .writer = "recgrad's trainer"});
  contents.check_configuration(configuration);
  const OptimizerStateDict optim = contents.optimizer_state();
  RunState loaded;
  try {
    loaded.from_json(contents.entry("run"));
  } catch (const json::exception& error) {
    throw Error(detail::concat("resume: checkpoint ", path, ": its run state is incomplete or mistyped (", error.what(),
                               "); move it away or delete it"));
  }
  loaded.best_weights = contents.tensors("best.");
  model.load_state_dict(contents.tensors("model."));  // both validate fully before changing anything
  optimizer.load_state_dict(optim);
  state = std::move(loaded);
  if (contents.has_entry("final")) return contents.entry("final");
  return std::nullopt;
}

/// The stop that a run in `state` has already reached under `options` ("" when none), in the order an
/// uninterrupted run meets them: patience and max_epochs right after an evaluation, the step and time budgets
/// at the next batch. A resumed run whose checkpoint was taken at such a stop stops there again.
std::string stop_already_reached(const RunState& state, const TrainerOptions& options) {
  if (state.bad_evals >= options.patience) return "patience";
  if (options.max_epochs > 0 && state.epoch >= options.max_epochs) return "max_epochs";
  if (options.max_steps > 0 && state.step >= options.max_steps) return "max_steps";
  if (options.max_minutes > 0 && state.train_seconds >= 60.0 * options.max_minutes) return "max_minutes";
  return "";
}

}  // namespace

Tensor sample_negatives(const Tensor& targets, std::int64_t count, std::int64_t num_items, Generator* generator) {
  RG_CHECK(num_items >= 2, "sample_negatives: negatives need at least 2 items, got ", num_items);
  RG_CHECK(targets.dim() == 1 && targets.dtype() == DType::i64, "sample_negatives: targets must be i64 [B], got ",
           targets.shape());
  const std::int64_t rows = targets.size(0);
  Tensor negatives = randint(1, num_items, {rows, count}, {DType::i64}, generator);  // 1..num_items-1
  const Tensor target_ids = raw::contiguous(raw::to_device(targets, Device::cpu()));
  std::int64_t* data = negatives.data<std::int64_t>();
  const std::int64_t* target = target_ids.data<std::int64_t>();
  for (std::int64_t b = 0; b < rows; ++b) {
    for (std::int64_t k = 0; k < count; ++k) data[b * count + k] += data[b * count + k] >= target[b] ? 1 : 0;
  }
  return negatives;
}

std::map<std::string, std::string> run_configuration(const SequentialRecommender& model,
                                                     const TrainingOptimizer& optimizer,
                                                     const datasets::SequenceDataset& data,
                                                     const TrainerOptions& options) {
  std::map<std::string, std::string> c = {
      {"model", model.describe()},
      {"optimizer", optimizer.describe()},
      {"history_length", std::to_string(model.history_length())},
      {"batch_size", std::to_string(options.batch_size)},
      {"eval_every", std::to_string(options.eval_every)},
      {"seed", std::to_string(options.seed)},
      {"device", options.device.is_cuda() ? "cuda" : "cpu"},
      {"loss", loss_name(options.loss)},
      {"negatives", options.loss != LossKind::full_softmax ? std::to_string(options.negatives) : "-"},
      {"eval_batch_size", std::to_string(options.eval_batch_size)},
      {"eval_max_rows", std::to_string(options.eval_max_rows)},
      {"valid_rows", std::to_string(model.validation_rows())},
      {"valid_loss", options.valid_loss ? "recorded" : "not recorded"},
      {"audit", options.audit.enabled ? "every " + std::to_string(options.audit.every) : "off"},
      {"data", data.name + " " + data.fingerprint()},
  };
  c["clip_grad_norm"] = exact_number_text(options.clip_grad_norm);
  c["selection"] = "valid NDCG@" + std::to_string(options.selection_k);
  c["lr_schedule"] = options.cosine_t_max > 0 ? "cosine per epoch, T_max " + std::to_string(options.cosine_t_max) +
                                                    ", eta_min " + exact_number_text(options.cosine_eta_min)
                                              : "constant";
  for (const auto& [field, value] : options.extra_configuration) c["extra." + field] = value;
  return c;
}

std::int64_t first_step_reaching(const std::vector<EvalPoint>& curve, double target_ndcg10) {
  for (const EvalPoint& point : curve) {
    if (ndcg10(point.valid) >= target_ndcg10) return point.step;
  }
  return -1;
}

RankingMetrics evaluate(SequentialRecommender& model, const datasets::Split& split, const TrainerOptions& options) {
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  RankingAccumulator accumulator;
  TrainerOptions eval_options = options;
  eval_options.loss = LossKind::full_softmax;  // no negatives to draw (and no generator to disturb)
  const datasets::EpochBatches batches(split, batch_options(model, options, options.eval_batch_size, false));
  std::int64_t rows = 0;
  for (std::int64_t i = 0; i < batches.size(); ++i) {
    if (options.eval_max_rows > 0 && rows >= options.eval_max_rows) break;
    const datasets::Batch batch = batches.batch(i);
    const SequenceBatch input = to_model_batch(batch, eval_options, model.num_items, nullptr);
    accumulator.add(full_ranking_ranks(model.score_all(input), score_column(input.targets), {}));
    rows += batch.size();
  }
  if (was_training) model.train();
  return accumulator.result();
}

double mean_loss(SequentialRecommender& model, const datasets::Split& split, const TrainerOptions& options) {
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  TrainerOptions eval_options = options;
  eval_options.loss = LossKind::full_softmax;
  const datasets::EpochBatches batches(split, batch_options(model, options, options.eval_batch_size, false));
  double weighted_sum = 0.0;
  std::int64_t rows = 0;
  for (std::int64_t i = 0; i < batches.size(); ++i) {
    const datasets::Batch batch = batches.batch(i);
    const SequenceBatch input = to_model_batch(batch, eval_options, model.num_items, nullptr);
    const double loss = raw::to_device(model.loss(input, LossKind::full_softmax), Device::cpu()).item<double>();
    weighted_sum += loss * static_cast<double>(batch.size());
    rows += batch.size();
  }
  if (was_training) model.train();
  return rows > 0 ? weighted_sum / static_cast<double>(rows) : 0.0;
}

datasets::Split spread_rows(const datasets::Split& split, std::int64_t rows) {
  const auto size = static_cast<std::int64_t>(split.size());
  if (rows <= 0 || rows >= size) return split;
  datasets::Split subset;
  for (std::int64_t i = 0; i < rows; ++i) {
    const std::size_t row = static_cast<std::size_t>(i * size / rows);
    subset.add_row(split.users[row], split.history(row), split.targets[row]);
  }
  return subset;
}

void check_trainer_options(const TrainerOptions& options) {
  const auto at_least = [](const char* field, std::int64_t value, std::int64_t low) {
    RG_CHECK(value >= low, "trainer option ", field, " must be >= ", low, ", got ", value);
  };
  const auto finite_non_negative = [](const char* field, double value) {
    RG_CHECK(std::isfinite(value) && value >= 0.0, "trainer option ", field, " must be a finite number >= 0, got ",
             value);
  };
  at_least("batch_size", options.batch_size, 1);
  at_least("patience", options.patience, 1);
  at_least("negatives", options.negatives, 1);
  at_least("max_epochs", options.max_epochs, 0);
  at_least("max_steps", options.max_steps, 0);
  at_least("eval_every", options.eval_every, 0);
  at_least("eval_batch_size", options.eval_batch_size, 1);
  at_least("eval_max_rows", options.eval_max_rows, 0);
  at_least("cosine_t_max", options.cosine_t_max, 0);
  finite_non_negative("max_minutes", options.max_minutes);
  finite_non_negative("cosine_eta_min", options.cosine_eta_min);
  finite_non_negative("clip_grad_norm", options.clip_grad_norm);
  finite_non_negative("max_loss_factor", options.max_loss_factor);
  if (options.audit.enabled) at_least("audit.every", options.audit.every, 1);
  RG_CHECK(std::find(kDefaultCutoffs.begin(), kDefaultCutoffs.end(), options.selection_k) != kDefaultCutoffs.end(),
           "trainer option selection_k must be one of the evaluated cut-offs 1, 3, 5, 10, 20, 50; got ",
           options.selection_k);
  RG_CHECK(options.max_epochs > 0 || options.max_steps > 0 || options.max_minutes > 0,
           "trainer options: set at least one budget (max_epochs, max_steps or max_minutes)");
}

TrainResult train(SequentialRecommender& model, TrainingOptimizer& optimizer, const datasets::SequenceDataset& data,
                  const TrainerOptions& options, const std::function<void(const TrainProgress&)>& progress) {
  check_trainer_options(options);
  RG_CHECK(model.num_items == data.num_items, "train: the model scores ", model.num_items, " items but ", data.name,
           " has ", data.num_items);
  const auto start = Clock::now();
  const std::map<std::string, std::string> configuration = run_configuration(model, optimizer, data, options);
  const datasets::Split validation = spread_rows(data.valid, model.validation_rows());
  RunState state;
  std::string stop;
  Generator negative_generator(options.seed ^ 0x6e6567ULL);
  manual_seed(options.seed ^ 0x64726f70ULL);  // dropout masks
  if (!options.checkpoint_path.empty() && options.resume && std::filesystem::exists(options.checkpoint_path)) {
    const std::optional<json> finished =
        load_checkpoint(options.checkpoint_path, model, optimizer, state, configuration);
    state.result.resumed = true;
    default_generator().set_offset(state.dropout_offset);
    negative_generator.set_offset(state.negative_offset);
    // A finished run whose stop still binds under these options returns its stored result, untouched. An
    // unfinished one checkpointed at its stop (interrupted between its last evaluation and its test) trains no
    // further: it goes straight to the test, as the uninterrupted run did.
    stop = stop_already_reached(state, options);
    if (finished && !stop.empty()) {
      TrainResult result = state.result;
      result.stop_reason = finished->at("stop_reason").get<std::string>();
      result.test = metrics_from_json(finished->at("test"));
      result.total_seconds = finished->at("total_seconds").get<double>();
      result.audit_seconds_per_step = finished->at("audit_seconds_per_step").get<double>();
      result.steps = state.step;
      result.epochs = state.epoch;
      result.train_seconds = state.train_seconds;
      if (!state.best_weights.empty()) model.load_state_dict(state.best_weights);
      return result;
    }
  }
  model.train();
  const datasets::BatchOptions train_batches = batch_options(model, options, options.batch_size, true);
  std::vector<Tensor> parameters;
  for (const auto& [name, parameter] : model.named_parameters()) parameters.push_back(parameter);

  std::unique_ptr<OptimizerAudit> audit;
  if (options.audit.enabled) {
    AuditOptions audit_options = options.audit;
    if (state.result.resumed) audit_options.resume_at_step = state.step;  // append after the kept records
    audit = std::make_unique<OptimizerAudit>(optimizer.audited_parameters(), audit_options);
    if (auto provider = optimizer.orthogonalized_provider()) audit->set_orthogonalized_provider(provider);
  }
  double last_loss = 0.0;
  std::int64_t steps_per_epoch = 0;
  const auto report = [&](bool evaluated) {
    if (!progress) return;
    TrainProgress p;
    p.step = state.step;
    p.epoch = state.epoch;
    p.steps_per_epoch = steps_per_epoch;
    p.max_steps = options.max_steps;
    p.loss = last_loss;
    p.last_valid_ndcg10 = state.result.curve.empty() ? -1.0 : ndcg10(state.result.curve.back().valid);
    p.last_valid_loss = state.result.curve.empty() ? -1.0 : state.result.curve.back().valid_loss;
    p.seconds = state.train_seconds;
    p.evaluated = evaluated;
    std::int64_t total = 0;
    if (options.max_epochs > 0) total = options.max_epochs * steps_per_epoch;
    if (options.max_steps > 0) total = total > 0 ? std::min(total, options.max_steps) : options.max_steps;
    if (total > 0 && state.step > 0) {
      p.eta_seconds = state.train_seconds / static_cast<double>(state.step) * static_cast<double>(total - state.step);
    }
    progress(p);
  };
  auto evaluate_now = [&]() {
    EvalPoint point;
    point.step = state.step;
    point.epoch = state.epoch;
    point.train_loss = state.loss_count > 0 ? state.loss_sum / static_cast<double>(state.loss_count) : 0.0;
    point.seconds = state.train_seconds;
    model.set_evaluation_split(datasets::SplitName::Valid);
    point.valid = evaluate(model, validation, options);
    if (options.valid_loss) point.valid_loss = mean_loss(model, validation, options);
    state.loss_sum = 0.0;
    state.loss_count = 0;
    state.result.curve.push_back(point);
    const double selected = point.valid.ndcg(options.selection_k);
    if (state.result.curve.size() == 1 || selected > state.result.best_valid.ndcg(options.selection_k)) {
      state.result.best_valid_ndcg10 = ndcg10(point.valid);
      state.result.best_valid = point.valid;
      state.result.best_step = point.step;
      state.best_weights = cpu_copy(model.state_dict());
      state.bad_evals = 0;
    } else {
      ++state.bad_evals;
    }
    if (!options.checkpoint_path.empty()) {
      state.dropout_offset = default_generator().offset();
      state.negative_offset = negative_generator.offset();
      save_checkpoint(options.checkpoint_path, model.state_dict(), optimizer, state, configuration);
    }
    if (state.bad_evals >= options.patience) stop = "patience";
    report(true);
  };

  while (stop.empty()) {
    if (options.cosine_t_max > 0) {  // the epoch's lr, per group (also right after a resume mid-epoch)
      optimizer.set_lr_from_base([&](double base) {
        return cosine_annealing_lr(base, state.epoch, options.cosine_t_max, options.cosine_eta_min);
      });
    }
    const datasets::EpochBatches batches(data.train, train_batches, state.epoch);
    steps_per_epoch = batches.size();
    for (; state.batch_in_epoch < batches.size() && stop.empty(); ++state.batch_in_epoch) {
      if (options.max_steps > 0 && state.step >= options.max_steps) {
        stop = "max_steps";
        break;
      }
      if (options.max_minutes > 0 && state.train_seconds >= 60.0 * options.max_minutes) {
        stop = "max_minutes";
        break;
      }
      const auto step_start = Clock::now();
      const SequenceBatch batch =
          to_model_batch(batches.batch(state.batch_in_epoch), options, model.num_items, &negative_generator);
      const std::uint64_t dropout_offset = default_generator().offset();
      // The loss of this batch with this step's dropout masks: what the step's own backward uses, and what
      // Muon-MVR and the audit re-evaluate at other weights.
      const auto replay = [&]() {
        default_generator().set_offset(dropout_offset);
        return model.loss(batch, options.loss);
      };
      Tensor loss;
      std::function<void()> optimizer_step;
      // A non-finite loss or gradient stops the run before any optimizer consumes it.
      const auto check_finite = [&](const Tensor& l) {  // returns the loss's value
        const double value = raw::to_device(l, Device::cpu()).item<double>();
        RG_CHECK(std::isfinite(value), "train: the loss became ", value, " at step ", state.step, " (", model.name(),
                 ", ", optimizer.name(), "); the run stops here");
        if (state.first_loss < 0) state.first_loss = value;
        const double bound = options.max_loss_factor * std::max(state.first_loss, 1.0);
        RG_CHECK(options.max_loss_factor == 0 || value <= bound, "train: the loss exploded to ", value, " at step ",
                 state.step, " (", model.name(), ", ", optimizer.name(), "), past ", options.max_loss_factor,
                 " x max(first loss ", state.first_loss, ", 1) = ", bound,
                 ": the run diverged (a learning rate too large?) and stops here");
        check_gradients_finite(parameters, state.step, model.name(), optimizer.name());
        return value;
      };
      if (optimizer.needs_closure()) {  // Muon-MVR computes its own gradients (no clipping on this path)
        optimizer_step = [&] {
          loss = optimizer.step([&] {
            optimizer.zero_grad();
            Tensor l = replay();
            l.backward();
            check_finite(l);
            return l;
          });
        };
      } else {
        optimizer.zero_grad();
        loss = replay();
        loss.backward();
        last_loss = check_finite(loss);
        if (options.clip_grad_norm > 0) clip_grad_norm_(parameters, options.clip_grad_norm);
        optimizer_step = [&] { optimizer.step(); };
      }
      const std::uint64_t after_forward = default_generator().offset();  // one forward past dropout_offset
      double audit_overhead = 0.0;  // the audit's own measurements: kept out of the training clock
      if (audit && audit->due(state.step)) {
        double step_seconds = 0.0;
        const auto timed_step = [&] {
          const auto begin = Clock::now();
          optimizer_step();
          step_seconds += seconds_since(begin);
        };
        const auto audit_start = Clock::now();
        const AuditStepReport report = audit->step(state.step, timed_step, replay);
        audit_overhead = std::max(0.0, seconds_since(audit_start) - step_seconds);
        state.result.audit.push_back({state.step, report.model});
        state.result.audit_seconds_per_step = audit->summary().seconds_per_audited_step();
      } else {
        optimizer_step();
      }
      if (!optimizer.needs_closure()) default_generator().set_offset(after_forward);
      // Muon-MVR's closure ran (and checked) several losses: read the one its step returns
      if (optimizer.needs_closure()) last_loss = raw::to_device(loss, Device::cpu()).item<double>();
      state.loss_sum += last_loss;
      ++state.loss_count;
      ++state.step;
      state.train_seconds += seconds_since(step_start) - audit_overhead;
      report(false);
      if (options.eval_every > 0 && state.step % options.eval_every == 0) {
        ++state.batch_in_epoch;  // a checkpoint taken now resumes after this batch
        evaluate_now();
        --state.batch_in_epoch;
      }
    }
    if (!stop.empty()) break;
    ++state.epoch;
    state.batch_in_epoch = 0;
    if (options.eval_every == 0) evaluate_now();
    if (stop.empty() && options.max_epochs > 0 && state.epoch >= options.max_epochs) stop = "max_epochs";
  }

  if (state.result.curve.empty() || state.result.curve.back().step != state.step) {
    const std::string reason = stop;
    evaluate_now();  // the weights after the last step are a candidate too (a budget, or --eval-every N)
    stop = reason;
  }
  TrainResult result = state.result;
  result.stop_reason = stop;
  result.steps = state.step;
  result.epochs = state.epoch;
  result.train_seconds = state.train_seconds;
  const nn::StateDict live_weights = options.checkpoint_path.empty() ? nn::StateDict{} : cpu_copy(model.state_dict());
  if (!state.best_weights.empty()) model.load_state_dict(state.best_weights);
  model.set_evaluation_split(datasets::SplitName::Test);
  result.test = evaluate(model, data.test, options);
  result.total_seconds = seconds_since(start);
  if (!options.checkpoint_path.empty()) {  // the last state plus the result: resuming returns it, or continues it
    save_checkpoint(options.checkpoint_path, live_weights, optimizer, state, configuration, &result);
  }
  return result;
}

}  // namespace recgrad::recsys
