// recbench: trains sequential recommenders with AdamW and with Muon (the MuonRec hybrid) and the variants, on
// the built-in synthetic data or a MiniOneRec-format Amazon folder, over several seeds, and reports which
// optimizer wins, by how much and how fast (results.json/csv/md and SVG plots in --out).
//
//   recbench                                   # first look: synthetic data, SASRec/GRU4Rec/Caser x AdamW/Muon,
//                                              # fixed settings, 1 seed, 8 epochs (about 90 s on 2 cores)
//   recbench --full                            # the comparison: tuned protocol, seeds 0,1,2, 30 epochs
//   recbench --protocol tuned --dataset ../shared/data/amazon/Industrial_and_Scientific --seeds 0,1,2
//   recbench sweep --lr adamw=1e-4,1e-3,1e-2 --lr muon=0.005,0.02,0.05
#include <CLI/CLI.hpp>

#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/cuda/caching_allocator.h"
#include "core/cuda/runtime.h"
#include "datasets/minionerec.h"
#include "datasets/synthetic.h"
#include "recgrad.h"
#include "recsys/popularity.h"
#include "recsys/protocols.h"
#include "recsys/trainer.h"
#include "recsys/training_optimizer.h"
#include "recsys/tuning.h"
#include "recsys/zoo.h"
#include "tools/recbench/report.h"

#ifndef RECGRAD_GIT_REVISION
#define RECGRAD_GIT_REVISION "unknown"
#endif

namespace {

using namespace recgrad;
using namespace recgrad::recsys;
using recgrad::recbench::Benchmark;
using recgrad::recbench::RunRecord;
using recgrad::recbench::TuningPoint;

/// Comma-separated fields of every value ("a,b" "c" -> a, b, c).
std::vector<std::string> split_list(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const std::string& value : values) {
    std::stringstream in(value);
    std::string item;
    while (std::getline(in, item, ',')) {
      if (!item.empty()) out.push_back(item);
    }
  }
  return out;
}

/// "name=v1,v2" entries -> name -> [v1, v2].
std::map<std::string, std::vector<double>> parse_assignments(const std::vector<std::string>& values,
                                                             const std::string& flag) {
  std::map<std::string, std::vector<double>> out;
  for (const std::string& value : values) {
    const auto eq = value.find('=');
    RG_CHECK(eq != std::string::npos && eq > 0, "recbench: ", flag, " expects name=value[,value...], got '", value,
             "'");
    for (const std::string& number : split_list({value.substr(eq + 1)})) {
      try {
        out[value.substr(0, eq)].push_back(std::stod(number));
      } catch (const std::exception&) {
        throw Error(detail::concat("recbench: ", flag, " has a value that is not a number: '", number, "'"));
      }
    }
  }
  return out;
}

std::string machine_description() {
  std::string cpu = "unknown CPU";
  std::ifstream info("/proc/cpuinfo");
  for (std::string line; std::getline(info, line);) {
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  }
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::string text =
      std::string(host) + ", " + cpu + ", " + std::to_string(std::thread::hardware_concurrency()) + " threads";
  if (cuda::cuda_available()) text += ", " + std::to_string(cuda::cuda_device_count()) + " CUDA device(s)";
  return text;
}

double peak_resident_bytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) * 1024.0;  // kB
  }
  return 0.0;
}

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buffer;
}

struct Settings {
  std::string dataset = "synthetic";
  std::vector<std::string> models{"sasrec,gru4rec,caser"};
  std::vector<std::string> optimizers{"adamw,muon"};
  std::vector<std::string> seeds{"0"};
  std::vector<std::string> learning_rates;  // name=value
  std::vector<std::string> adamw_part_lrs;  // name=value: the AdamW part of a hybrid
  std::vector<std::string> model_options;   // model.option=value
  std::int64_t max_length = 0;              // > 0: every model's history window (and the synthetic data's)
  std::string out = "results";
  std::string device = "cpu";
  std::string loss = "softmax";
  std::string checkpoint_dir;  // "" = <out>/checkpoints
  bool resume = false;
  recsys::TrainerOptions trainer;
  std::int32_t synthetic_users = 3000, synthetic_items = 1000;
  double synthetic_zipf = 1.0;
  bool quiet = false;
  bool audit = false;
  std::int64_t audit_every = 50;
  bool full = false;
  std::string protocol;  // empty: tuned with --full, fixed without
  std::vector<std::string> tuning_seeds{"1000,1001"};
  Settings() {
    trainer.max_epochs = kQuickEpochs;  // the default run (3 models x 2 optimizers) takes about 2 minutes on 2 cores
    trainer.patience = 5;
  }
  static constexpr std::int64_t kQuickEpochs = 8, kFullEpochs = 30;
};

/// The settings of model `name`: its --model-option entries, and --max-length when given.
ModelSettings model_settings(const Settings& s, const std::string& name) {
  ModelSettings settings;
  if (s.max_length > 0) settings["max_length"] = std::to_string(s.max_length);
  for (const std::string& entry : split_list(s.model_options)) {
    const auto dot = entry.find('.'), eq = entry.find('=');
    RG_CHECK(dot != std::string::npos && eq != std::string::npos && dot < eq && dot > 0,
             "recbench: --model-option expects model.option=value, got '", entry, "'");
    (void)find_model(entry.substr(0, dot));  // an unknown model name is an error even when it is not run
    if (entry.substr(0, dot) == name) settings[entry.substr(dot + 1, eq - dot - 1)] = entry.substr(eq + 1);
  }
  return settings;
}

datasets::SequenceDataset load_dataset(const Settings& s, std::string& description) {
  if (s.dataset == "synthetic") {
    datasets::SyntheticConfig config;
    config.num_users = s.synthetic_users;
    config.num_items = s.synthetic_items;
    config.zipf_exponent = s.synthetic_zipf;
    if (s.max_length > 0) config.max_history_length = static_cast<std::int32_t>(s.max_length);
    description = "synthetic (built-in generator: " + std::to_string(config.num_users) + " users, " +
                  std::to_string(config.num_items) + " items, Zipf exponent " + std::to_string(config.zipf_exponent) +
                  ", seed " + std::to_string(config.seed) + ")";
    return datasets::generate_synthetic(config).dataset;
  }
  description = "MiniOneRec-format folder " + s.dataset;
  return datasets::load_minionerec(s.dataset);
}

/// Time-to-target: the first step (and its training seconds) at which each run reaches the best validation
/// NDCG@10 of the AdamW run the report pairs it with (recbench::adamw_reference_run: same model and seed, AdamW at
/// its own settings, else the first AdamW configuration that ran).
void fill_time_to_target(Benchmark& benchmark) {
  for (RunRecord& run : benchmark.runs) {
    const RunRecord* reference = recbench::adamw_reference_run(benchmark, run);
    if (reference == nullptr) continue;
    run.time_to_target = first_step_reaching(run.result.curve, reference->result.best_valid_ndcg10);
    run.time_to_target_seconds = -1;
    for (const EvalPoint& point : run.result.curve) {
      if (point.step == run.time_to_target) run.time_to_target_seconds = point.seconds;
    }
  }
}

/// Trains `model_name` with `optimizer_name` (as the protocol maps them), seed `seed` and `overrides`; `counter`
/// ("[3/12]") heads its progress output.
RunRecord run_one(const Settings& s, const datasets::SequenceDataset& data, const std::string& model_name,
                  const std::string& optimizer_name, std::uint64_t seed, const OptimizerOverrides& overrides,
                  const std::string& counter) {
  const std::string seed_text = std::to_string(seed);
  RunRecord record;
  record.model = model_name;
  record.optimizer = optimizer_name;
  record.configuration = overrides_text(overrides);
  record.seed = seed;
  record.options = s.trainer;
  record.options.seed = seed;
  // runs of other configurations get other files
  std::string tag = record.configuration;
  std::replace(tag.begin(), tag.end(), ' ', '_');
  if (!tag.empty()) tag = "_" + tag;
  if (s.audit) {
    record.options.audit.enabled = true;
    record.options.audit.every = s.audit_every;
    std::filesystem::create_directories(s.out);
    record.options.audit.path =
        s.out + "/audit_" + model_name + "_" + optimizer_name + "_seed" + seed_text + tag + ".jsonl";
  }
  // Every run checkpoints after each evaluation and when it ends; --resume picks finished runs up as they are
  // and continues the interrupted one from its last evaluation.
  const std::string checkpoint_dir = s.checkpoint_dir.empty() ? s.out + "/checkpoints" : s.checkpoint_dir;
  std::filesystem::create_directories(checkpoint_dir);
  record.options.checkpoint_path =
      checkpoint_dir + "/" + model_name + "_" + optimizer_name + "_seed" + seed_text + tag + ".safetensors";
  record.options.resume = s.resume;
  manual_seed(seed);
  auto model = find_model(protocol_model(s.protocol, model_name))
                   .make({data.num_items, data.num_users}, model_settings(s, model_name));
  model->to(record.options.device);
  auto optimizer = make_training_optimizer(protocol_optimizer(s.protocol, optimizer_name), *model, overrides);
  record.model_description = model->describe();
  record.history_length = model->history_length();
  record.optimizer_description = optimizer->describe();
  if (!s.quiet) {
    std::cerr << "\n" << counter << " " << record.model_description << "\n" << record.optimizer_description << "\n";
  }
  if (cuda::cuda_available()) cuda::cuda_reset_peak();
  // On a terminal one line updates in place every 10 steps; to a file or pipe, one line per evaluation.
  const bool terminal = isatty(fileno(stderr)) != 0;
  const auto progress = [&](const TrainProgress& p) {
    if (s.quiet || (terminal ? p.step % 10 != 0 && !p.evaluated : !p.evaluated)) return;
    char line[256];
    std::snprintf(line, sizeof line,
                  "%s%-8s %-7s seed %-4s epoch %3lld step %6lld  loss %.4f  valid NDCG@10 %s  %5.0fs  ETA %s   %s",
                  terminal ? "\r" : "", model_name.c_str(), optimizer_name.c_str(), seed_text.c_str(),
                  static_cast<long long>(p.epoch), static_cast<long long>(p.step), p.loss,
                  p.last_valid_ndcg10 < 0 ? "  -   " : std::to_string(p.last_valid_ndcg10).substr(0, 6).c_str(),
                  p.seconds, p.eta_seconds < 0 ? "?" : (std::to_string(static_cast<int>(p.eta_seconds)) + "s").c_str(),
                  terminal ? "" : "\n");
    std::cerr << line << std::flush;
  };
  record.result = train(*model, *optimizer, data, record.options, progress);
  record.peak_host_bytes = peak_resident_bytes();
  if (cuda::cuda_available()) record.peak_device_bytes = static_cast<double>(cuda::cuda_memory_stats().peak_bytes);
  if (!s.quiet) {
    std::cerr << (terminal ? "\n" : "") << "  best valid NDCG@" << record.options.selection_k << " "
              << record.result.best_valid.ndcg(record.options.selection_k) << " at step " << record.result.best_step
              << "; test NDCG@10 " << record.result.test.ndcg(10) << ", Recall@10 " << record.result.test.recall(10)
              << " (" << record.result.stop_reason << ", " << static_cast<int>(record.result.train_seconds)
              << " s training" << (record.result.resumed ? ", resumed" : "") << ")\n";
  }
  return record;
}

/// Adds `record` to the benchmark and rewrites the report: an interruption loses at most the run in progress.
void keep(const Settings& s, Benchmark& benchmark, RunRecord record) {
  benchmark.runs.push_back(std::move(record));
  fill_time_to_target(benchmark);
  recbench::write_report(benchmark, s.out);
}

/// Trains every (model, optimizer, seed) of `s`, with the --lr and --adamw-part-lr overrides; fills `benchmark.runs`.
void run_all(const Settings& s, const datasets::SequenceDataset& data, Benchmark& benchmark) {
  const auto models = split_list(s.models), optimizers = split_list(s.optimizers), seeds = split_list(s.seeds);
  const auto lrs = parse_assignments(s.learning_rates, "--lr");
  const auto adamw_lrs = parse_assignments(s.adamw_part_lrs, "--adamw-part-lr");
  const std::size_t total = models.size() * optimizers.size() * seeds.size();
  std::size_t index = 0;
  for (const std::string& model_name : models) {
    for (const std::string& seed_text : seeds) {
      for (const std::string& optimizer_name : optimizers) {
        OptimizerOverrides overrides;
        if (lrs.count(optimizer_name)) overrides.lr = lrs.at(optimizer_name).front();
        if (adamw_lrs.count(optimizer_name)) overrides.adamw_lr = adamw_lrs.at(optimizer_name).front();
        const std::string counter = "[" + std::to_string(++index) + "/" + std::to_string(total) + "]";
        keep(s, benchmark, run_one(s, data, model_name, optimizer_name, std::stoull(seed_text), overrides, counter));
      }
    }
  }
}

/// --protocol tuned: the learning rates and weight decay of `optimizer_name` for `model_name`, chosen by the
/// search of recsys/tuning.h; a point's score is the mean best validation NDCG@selection_k over the tuning seeds
/// (--tuning-seeds, default 1000,1001: not the seeds of the final runs). Every point is kept in
/// Benchmark::tuning and reported.
OptimizerOverrides tune(const Settings& s, const datasets::SequenceDataset& data, const std::string& model_name,
                        const std::string& optimizer_name, Benchmark& benchmark) {
  const OptimizerEntry& entry = find_optimizer(protocol_optimizer(s.protocol, optimizer_name));
  const std::vector<std::string> tuning_seeds = split_list(s.tuning_seeds);
  const auto score = [&](const OptimizerOverrides& point) {  // called once per distinct point
    const std::string key = overrides_text(point);
    TuningPoint tuning{model_name, optimizer_name, key, {}, 0.0, false};
    for (const std::string& seed : tuning_seeds) {
      const RunRecord run = run_one(s, data, model_name, optimizer_name, std::stoull(seed), point,
                                    "[tuning " + model_name + " " + optimizer_name + " " + key + "]");
      tuning.valid_scores.push_back(run.result.best_valid.ndcg(s.trainer.selection_k));
    }
    for (double v : tuning.valid_scores) tuning.mean_valid += v / static_cast<double>(tuning.valid_scores.size());
    benchmark.tuning.push_back(tuning);
    recbench::write_report(benchmark, s.out);
    return tuning.mean_valid;
  };
  const recsys::TuningOutcome outcome = tune_coordinatewise(entry.defaults, score);
  for (TuningPoint& point : benchmark.tuning) {
    if (point.model == model_name && point.optimizer == optimizer_name) {
      point.chosen = point.configuration == overrides_text(outcome.best);
      if (point.chosen) point.unbracketed = outcome.unbracketed;
    }
  }
  return outcome.best;
}

/// --protocol tuned: tune each (model, optimizer), then run every seed at its chosen point.
void run_tuned(const Settings& s, const datasets::SequenceDataset& data, Benchmark& benchmark) {
  const auto models = split_list(s.models), optimizers = split_list(s.optimizers), seeds = split_list(s.seeds);
  for (const std::string& model_name : models) {
    for (const std::string& optimizer_name : optimizers) {
      const OptimizerOverrides chosen = tune(s, data, model_name, optimizer_name, benchmark);
      for (const std::string& seed_text : seeds) {
        keep(s, benchmark,
             run_one(s, data, model_name, optimizer_name, std::stoull(seed_text), chosen,
                     "[" + model_name + " " + optimizer_name + " at " + overrides_text(chosen) + "]"));
      }
    }
  }
}

void add_common_options(CLI::App& app, Settings& s) {
  app.add_option("--dataset", s.dataset, "'synthetic' (built in) or a MiniOneRec-format folder")->capture_default_str();
  std::string models_help = "comma-separated, from the model zoo (recsys/zoo.h):";
  for (const ModelEntry& entry : model_zoo()) models_help += "\n  " + entry.name + "  " + entry.summary;
  app.add_option("--models", s.models, models_help)->capture_default_str();
  std::string model_options_help = "model.option=value (repeatable), e.g. sasrec.hidden=32; options and defaults:";
  for (const ModelEntry& entry : model_zoo()) model_options_help += "\n" + entry.name + ":\n" + entry.options_help();
  app.add_option("--model-option", s.model_options, model_options_help);
  std::string optimizers_help = "comma-separated, from recsys/training_optimizer.h:";
  for (const OptimizerEntry& entry : optimizer_zoo()) optimizers_help += "\n  " + entry.name + "  " + entry.description;
  app.add_option("--optimizers", s.optimizers, optimizers_help)->capture_default_str();
  app.add_option("--protocol", s.protocol,
                 "fixed, muonrec or tuned; default: tuned with --full, fixed without (the quick first look). "
                 "fixed: the models and optimizers as named, each optimizer at its own defaults (the hybrids' AdamW "
                 "part is the adamw baseline's), with the flags' settings; muonrec: MuonRec's setup "
                 "(experiments/traditional): each model's _muonrec variant, MuonRec's AdamW and Muon, batch 1024, "
                 "pooled BCE with 1 negative, cosine lr per epoch (T_max 500, eta_min 1e-6), selection on valid "
                 "NDCG@20, patience 10, up to 500 epochs; tuned: each optimizer's learning rates and weight decay "
                 "chosen on validation (a bracketing log grid, --tuning-seeds), then --seeds at the chosen point");
  app.add_option("--tuning-seeds", s.tuning_seeds, "--protocol tuned: the seeds each grid point is averaged over")
      ->capture_default_str();
  app.add_option("--selection-k", s.trainer.selection_k, "select the best weights on valid NDCG@K (1, 5, 10 or 20)")
      ->capture_default_str();
  app.add_option("--cosine-t-max", s.trainer.cosine_t_max, "cosine lr annealing per epoch over T_max epochs (0 = off)")
      ->capture_default_str();
  app.add_option("--cosine-eta-min", s.trainer.cosine_eta_min, "the cosine schedule's final lr")->capture_default_str();
  app.add_flag("--full", s.full,
               "the full comparison: the tuned protocol, seeds 0,1,2 and a budget of 30 epochs (the default is "
               "fixed settings, 1 seed, 8 epochs)");
  app.add_option("--seeds", s.seeds, "comma-separated seeds")->capture_default_str();
  app.add_option("--lr", s.learning_rates, "learning rate per optimizer, e.g. adamw=1e-3 muon=0.02 (repeatable)");
  app.add_option("--adamw-part-lr", s.adamw_part_lrs, "lr of the AdamW part of a hybrid, e.g. muon=1e-2");
  app.add_option("--max-epochs", s.trainer.max_epochs, "budget: epochs (0 = none)")->capture_default_str();
  app.add_option("--max-steps", s.trainer.max_steps, "budget: optimizer steps (0 = none)")->capture_default_str();
  app.add_option("--max-minutes", s.trainer.max_minutes, "budget: training minutes per run (0 = none)")
      ->capture_default_str();
  app.add_option("--eval-every", s.trainer.eval_every, "evaluate every N steps (0 = per epoch)")->capture_default_str();
  app.add_option("--patience", s.trainer.patience, "evaluations without improvement before stopping")
      ->capture_default_str();
  app.add_option("--batch-size", s.trainer.batch_size, "training batch size")->capture_default_str();
  app.add_option("--max-length", s.max_length,
                 "history window of every model (model option max_length) and of the synthetic data; 0 = defaults")
      ->capture_default_str();
  app.add_option("--loss", s.loss,
                 "softmax (full cross-entropy), bce (sampled negatives: mean positive + mean negative term) or "
                 "bce_pooled (one mean over all positive and negative logits, MuonRec's)")
      ->capture_default_str();
  app.add_option("--negatives", s.trainer.negatives, "negatives per row for --loss bce")->capture_default_str();
  app.add_option("--device", s.device, "cpu or cuda")->capture_default_str();
  app.add_option("--out", s.out, "results folder")->capture_default_str();
  app.add_option("--checkpoints", s.checkpoint_dir, "folder for per-run checkpoints (default: <out>/checkpoints)");
  app.add_flag("--resume", s.resume,
               "resume from the checkpoints: finished runs return their stored results, an interrupted run continues "
               "from its last evaluation; a checkpoint of another configuration is refused");
  app.add_option("--synthetic-users", s.synthetic_users, "synthetic data: users")->capture_default_str();
  app.add_option("--synthetic-items", s.synthetic_items, "synthetic data: items")->capture_default_str();
  app.add_option("--synthetic-zipf", s.synthetic_zipf, "synthetic data: popularity Zipf exponent")
      ->capture_default_str();
  app.add_flag("--quiet", s.quiet, "no progress output");
  app.add_flag("--audit", s.audit, "record the optimizer audit (optim/audit.h) as JSON lines and plot it");
  app.add_option("--audit-every", s.audit_every, "audit every N steps")->capture_default_str();
}

/// Checks every name and option before any work (data loading, training), so a typo fails at once.
void finish_settings(Settings& s, const CLI::App& app) {
  if (s.protocol.empty()) s.protocol = s.full ? "tuned" : "fixed";
  if (s.full) {
    if (app.count("--seeds") == 0) s.seeds = {"0,1,2"};
    if (app.count("--max-epochs") == 0) s.trainer.max_epochs = Settings::kFullEpochs;
  }
  // The protocol's settings (recsys/protocols.h); flags given explicitly still win.
  const recsys::TrainerOptions given = s.trainer;
  s.trainer = protocol_trainer_options(s.protocol, s.trainer);
  if (s.protocol == "muonrec" && app.count("--loss") == 0) s.loss = "bce_pooled";
  const auto keep_given = [&](const char* flag, auto member) {
    if (app.count(flag) > 0) s.trainer.*member = given.*member;
  };
  keep_given("--batch-size", &recsys::TrainerOptions::batch_size);
  keep_given("--negatives", &recsys::TrainerOptions::negatives);
  keep_given("--patience", &recsys::TrainerOptions::patience);
  keep_given("--max-epochs", &recsys::TrainerOptions::max_epochs);
  keep_given("--selection-k", &recsys::TrainerOptions::selection_k);
  keep_given("--cosine-t-max", &recsys::TrainerOptions::cosine_t_max);
  keep_given("--cosine-eta-min", &recsys::TrainerOptions::cosine_eta_min);
  for (const std::string& name : split_list(s.models)) {
    find_model(protocol_model(s.protocol, name)).check_settings(model_settings(s, name));
  }
  for (const std::string& name : split_list(s.optimizers)) (void)find_optimizer(protocol_optimizer(s.protocol, name));
  RG_CHECK(s.device == "cpu" || s.device == "cuda", "recbench: --device must be cpu or cuda, got '", s.device, "'");
  RG_CHECK(s.loss == "softmax" || s.loss == "bce" || s.loss == "bce_pooled",
           "recbench: --loss must be softmax, bce or bce_pooled, got '", s.loss, "'");
  s.trainer.device = s.device == "cuda" ? Device::cuda() : Device::cpu();
  if (s.trainer.device.is_cuda()) cuda::require_cuda_device(s.trainer.device, "recbench --device cuda");
  s.trainer.loss = s.loss == "softmax" ? LossKind::full_softmax
                   : s.loss == "bce"   ? LossKind::sampled_bce
                                       : LossKind::sampled_bce_pooled;
}

Benchmark make_benchmark(const datasets::SequenceDataset& data, const std::string& description, const CLI::App& app,
                         const std::string& protocol) {
  Benchmark b;
  b.protocol = protocol;
  b.dataset_name = data.name;
  b.dataset_description = description;
  b.dataset_statistics = data.statistics().to_string();
  b.git_revision = RECGRAD_GIT_REVISION;
  b.machine = machine_description();
  b.started_at = now_utc();
  const MostPopular popular(data);
  b.most_popular_valid = popular.evaluate(data.valid);
  b.most_popular_test = popular.evaluate(data.test);
  std::istringstream config(app.config_to_str(true, false));
  for (std::string line; std::getline(config, line);) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) b.settings[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"recbench: train sequential recommenders with AdamW and Muon and compare them"};
  Settings settings;
  add_common_options(app, settings);
  app.set_config("--config", "", "a TOML/INI file with the same options (see --help)");
  CLI::App* sweep = app.add_subcommand("sweep", "a small learning-rate grid per optimizer, chosen on validation");
  sweep->fallthrough();  // the run options (--models, --max-epochs, ...) may follow "sweep"
  std::vector<std::string> grid;
  sweep->add_option("--grid", grid,
                    "optimizer=lr1,lr2,... (repeatable); default: adamw=3e-4,1e-3,3e-3 muon=0.005,0.02,0.05");
  CLI11_PARSE(app, argc, argv);
  try {
    finish_settings(settings, app);
    std::string description;
    const datasets::SequenceDataset data = load_dataset(settings, description);
    std::cerr << data.statistics().to_string() << "\n";
    if (sweep->parsed()) {
      const auto lrs = parse_assignments(
          grid.empty() ? std::vector<std::string>{"adamw=3e-4,1e-3,3e-3", "muon=0.005,0.02,0.05"} : grid, "--grid");
      Benchmark all = make_benchmark(data, description, app, settings.protocol);
      std::ostringstream chosen;
      chosen << "# recbench sweep: " << data.name
             << "\n\n| model | optimizer | lr | valid NDCG@10 |\n|---|---|---|---|\n";
      nlohmann::json best_json = nlohmann::json::object();
      for (const std::string& model : split_list(settings.models)) {
        for (const auto& [optimizer, values] : lrs) {
          double best_lr = 0, best_ndcg = -1;
          for (double lr : values) {
            Settings one = settings;
            one.models = {model};
            one.optimizers = {optimizer};
            one.seeds = {split_list(settings.seeds).front()};
            one.learning_rates = {optimizer + "=" + exact_text(lr)};
            Benchmark b = make_benchmark(data, description, app, settings.protocol);
            run_all(one, data, b);
            const double ndcg = b.runs.front().result.best_valid_ndcg10;
            chosen << "| " << model << " | " << optimizer << " | " << lr << " | " << ndcg << " |\n";
            if (ndcg > best_ndcg) best_ndcg = ndcg, best_lr = lr;
            for (auto& run : b.runs) all.runs.push_back(run);
            fill_time_to_target(all);  // across optimizers: each run against its seed's AdamW reference
          }
          best_json[model][optimizer] = {{"lr", best_lr}, {"valid_ndcg10", best_ndcg}};
          chosen << "| **" << model << "** | **" << optimizer << "** | **" << best_lr << "** (chosen) | " << best_ndcg
                 << " |\n";
        }
      }
      recbench::write_report(all, settings.out);
      recbench::write_file_atomically(settings.out + "/sweep.md", chosen.str());
      recbench::write_file_atomically(settings.out + "/sweep.json", best_json.dump(2) + "\n");
      std::cout << chosen.str();
      return 0;
    }
    Benchmark benchmark = make_benchmark(data, description, app, settings.protocol);
    if (settings.protocol == "tuned") {
      run_tuned(settings, data, benchmark);
    } else {
      run_all(settings, data, benchmark);
    }
    std::cout << "\n" << recbench::write_report(benchmark, settings.out);
    std::cout << "\nresults: " << settings.out << "/results.{json,csv,md}, plots: " << settings.out << "/curve_*.svg\n";
    return 0;
  } catch (const std::exception& error) {
    std::cerr << "\nrecbench: " << error.what() << "\n";
    return 1;
  }
}
