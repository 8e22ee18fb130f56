// recbench: trains sequential recommenders with AdamW and with Muon (the MuonRec hybrid) and the variants, on
// the built-in synthetic data or a MiniOneRec-format Amazon folder, over several seeds, and reports which
// optimizer wins, by how much and how fast (results.json/csv/md and SVG plots in --out).
//
//   recbench                                   # first look: synthetic data, SASRec/GRU4Rec/Caser x AdamW/Muon,
//                                              # tuned learning rates, seed 0, 4 epochs (--budget quick)
//   recbench --full                            # the comparison: lrs and wd tuned, seeds 0,1,2, 30 epochs
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
#include "datasets/item_text_features.h"
#include "datasets/minionerec.h"
#include "datasets/synthetic.h"
#include "git_revision.h"
#include "recgrad.h"
#include "recsys/generative/grpo_stage.h"
#include "recsys/generative/minionerec.h"
#include "recsys/generative/rq_kmeans.h"
#include "recsys/generative/rq_vae.h"
#include "recsys/generative/semantic_ids.h"
#include "recsys/popularity.h"
#include "recsys/protocols.h"
#include "recsys/trainer.h"
#include "recsys/training_optimizer.h"
#include "recsys/tuning.h"
#include "recsys/zoo.h"
#include "tools/recbench/report.h"
#include "tools/recbench/settings.h"

#ifndef RECGRAD_GIT_REVISION
#define RECGRAD_GIT_REVISION "unknown"
#endif

namespace {

using namespace recgrad;
using namespace recgrad::recsys;
using recgrad::recbench::Benchmark;
using recgrad::recbench::RunRecord;
using recgrad::recbench::Settings;
using recgrad::recbench::split_list;
using recgrad::recbench::TuningPoint;

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

/// The semantic IDs of the generative models (--sid-source), with TIGER's deduplication level, and a few lines
/// on how they use their codebooks (printed and kept for the report). Computed IDs are written to
/// <out>/sids_<source>.index.json in the release's format.
std::shared_ptr<const recsys::SemanticIds> semantic_ids_for(const Settings& s, const datasets::SequenceDataset& data,
                                                            std::string& summary) {
  recsys::SemanticIds base;
  std::ostringstream text;
  if (s.sid_source == "release") {
    base = recsys::semantic_ids_of_items(data, s.dataset);
    text << "Semantic IDs: the release's (" << s.dataset << "/index), " << base.levels() << " levels.\n";
  } else {
    datasets::ItemTextFeatureSummary features_summary;
    const Tensor features = datasets::item_text_features(data, {}, &features_summary);
    const std::string from_text = " over TF-IDF features of the item text (vocabulary " +
                                  std::to_string(features_summary.vocabulary) + " terms, " +
                                  std::to_string(features_summary.items_without_text) +
                                  " items without text, projected to 256 dimensions)";
    if (s.sid_source == "rqkmeans") {
      const recsys::ResidualQuantization rq = recsys::rq_kmeans(features);
      base = rq.ids;
      text << "Semantic IDs: RQ-KMeans (3 levels x " << base.codebook_sizes.front() << " codes)" << from_text
           << "; mean squared residual " << rq.mean_feature_norm2;
      for (double r : rq.mean_residual_norm2) text << " -> " << r;
      text << ".\n";
    } else {
      const recsys::RqVaeResult rq = recsys::train_rq_vae(features);
      base = rq.ids;
      text << "Semantic IDs: RQ-VAE (MLP 256-128-64-32, 3 levels x " << base.codebook_sizes.front()
           << " codes, beta 0.25, " << rq.loss_per_epoch.size() << " epochs)" << from_text << "; loss "
           << rq.loss_per_epoch.front() << " -> " << rq.loss_per_epoch.back() << " (reconstruction "
           << rq.reconstruction << ", quantization " << rq.quantization << "), " << rq.dead_codes_reset
           << " dead codes reset.\n";
    }
  }
  text << recsys::semantic_id_usage(base).to_string(base);
  auto unique = std::make_shared<recsys::SemanticIds>(recsys::with_dedup_level(base));
  text << "TIGER's deduplication level: up to " << unique->codebook_sizes.back()
       << " items share one SID; the level numbers them 0, 1, ...\n";
  if (s.sid_source != "release") {
    std::filesystem::create_directories(s.out);
    recsys::write_semantic_id_index(s.out + "/sids_" + s.sid_source + ".index.json", base);
  }
  summary = text.str();
  return unique;
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

/// The GRPO stage's settings in words (for the progress output and the report).
std::string rl_description(const GrpoStageOptions& o) {
  std::ostringstream text;
  text << "GRPO: G " << o.step.group_size << " constrained beams, " << to_string(o.step.reward) << " reward, beta "
       << o.step.beta << ", up to " << o.sid_history_prompts << " next-SID + " << o.title_prompts
       << " title -> SID prompts of the training split, " << o.prompts_per_step << " per step, " << o.epochs
       << (o.epochs == 1 ? " epoch" : " epochs") << ", lr " << o.lr_scale << " x the run's (warmup "
       << 100 * o.warmup_share << "% then cosine), gradient clipping " << o.step.clip_grad_norm
       << ", reference = the frozen SFT weights";
  return text.str();
}

/// MiniOneRec's GRPO stage after SFT on `model`, which holds the SFT run's best weights: a fresh optimizer of the
/// run's kind and learning rates (times --rl-lr-scale), its own checkpoint beside the run's; fills record.rl.
void run_rl_stage(const Settings& s, const datasets::SequenceDataset& data, RunRecord& record,
                  SequentialRecommender& model, const std::string& optimizer_name,
                  const OptimizerOverrides& overrides) {
  auto& policy = dynamic_cast<MiniOneRec&>(model);
  auto optimizer = make_training_optimizer(protocol_optimizer(s.protocol, optimizer_name), model, overrides);
  GrpoStageOptions options = s.grpo;
  options.seed = record.seed;
  options.test_start = false;  // the SFT run's test is of these very weights
  const std::string sft_path = record.options.checkpoint_path;
  options.checkpoint_path =
      sft_path.substr(0, sft_path.size() - std::string(".safetensors").size()) + "_rl.safetensors";
  options.resume = s.resume;
  record.rl_description = rl_description(options);
  const bool terminal = isatty(fileno(stderr)) != 0;
  if (!s.quiet) std::cerr << "  then " << record.rl_description << "\n";
  const auto progress = [&](const GrpoProgress& p) {
    if (s.quiet || (!terminal && !p.evaluated && p.step % 20 != 0)) return;
    char line[256];
    std::snprintf(line, sizeof line,
                  "%s  GRPO step %4lld/%lld  reward %+.3f  hit share %.2f  KL %.4f  entropy %.3f  valid NDCG@10 %.4f  "
                  "%5.0fs   ",
                  terminal ? "\r" : "", static_cast<long long>(p.step), static_cast<long long>(p.total_steps),
                  p.log.mean_reward, p.log.hit_share, p.log.mean_kl, p.log.entropy, p.last_valid_ndcg10, p.seconds);
    std::cerr << line << (terminal ? "" : "\n") << std::flush;
  };
  record.rl = grpo_stage(policy, *optimizer, data, options, record.options, progress);
  record.rl.sft_test = record.result.test;
  record.has_rl = true;
  record.rl_peak_host_bytes = peak_resident_bytes();
  if (!s.quiet) {
    std::cerr << (terminal ? "\n" : "") << "  GRPO: test NDCG@10 " << record.result.test.ndcg(10) << " after SFT -> "
              << record.rl.test.ndcg(10) << " after " << record.rl.steps.size() << " steps ("
              << static_cast<int>(record.rl.train_seconds) << " s of steps, "
              << static_cast<int>(record.rl.total_seconds) << " s in all" << (record.rl.resumed ? ", resumed" : "")
              << ")\n";
  }
}

/// Trains `model_name` with `optimizer_name` (as the protocol maps them), seed `seed` and `overrides`, then, when
/// `with_rl` and the model has one, its GRPO stage; `counter` ("[3/12]") heads its progress output.
RunRecord run_one(const Settings& s, const datasets::SequenceDataset& data, const std::string& model_name,
                  const std::string& optimizer_name, std::uint64_t seed, const OptimizerOverrides& overrides,
                  const std::string& counter, bool with_rl = true) {
  const std::string seed_text = std::to_string(seed);
  RunRecord record;
  record.model = model_name;
  record.optimizer = optimizer_name;
  record.configuration = overrides_text(overrides);
  record.seed = seed;
  record.options = s.trainer;
  record.options.seed = seed;
  // the generative models' validation also records their next-SID loss (cheap beside beam search)
  record.options.valid_loss = find_model(protocol_model(s.protocol, model_name)).generative;
  // runs of other configurations get other files
  std::string tag = record.configuration;
  std::replace(tag.begin(), tag.end(), ' ', '_');
  if (!tag.empty()) tag = "_" + tag;
  if (s.audit) {
    record.options.audit.enabled = true;
    record.options.audit.every = s.audit_every;
    record.options.audit.path =
        s.out + "/audit_" + model_name + "_" + optimizer_name + "_seed" + seed_text + tag + ".jsonl";
  }
  // Every run checkpoints after each evaluation and when it ends; --resume picks finished runs up as they are
  // and continues the interrupted one from its last evaluation.
  record.options.checkpoint_path =
      s.checkpoint_folder + "/" + model_name + "_" + optimizer_name + "_seed" + seed_text + tag + ".safetensors";
  record.options.resume = s.resume;
  manual_seed(seed);
  auto model =
      find_model(protocol_model(s.protocol, model_name))
          .make({data.num_items, data.num_users, s.semantic_ids, s.item_titles}, model_settings(s, model_name));
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
                  "%s%-8s %-7s seed %-4s epoch %3lld step %6lld  loss %.4f  valid NDCG@10 %s  %5.0fs  ETA %s   ",
                  terminal ? "\r" : "", model_name.c_str(), optimizer_name.c_str(), seed_text.c_str(),
                  static_cast<long long>(p.epoch), static_cast<long long>(p.step), p.loss,
                  p.last_valid_ndcg10 < 0 ? "  -   " : std::to_string(p.last_valid_ndcg10).substr(0, 6).c_str(),
                  p.seconds, p.eta_seconds < 0 ? "?" : (std::to_string(static_cast<int>(p.eta_seconds)) + "s").c_str());
    std::cerr << line;
    if (p.evaluated && p.last_valid_loss >= 0) std::cerr << "valid loss " << p.last_valid_loss;
    std::cerr << (terminal ? "" : "\n") << std::flush;
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
  if (with_rl && s.runs_rl(model_name)) run_rl_stage(s, data, record, *model, optimizer_name, overrides);
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
  const auto& models = s.model_names;
  const auto& optimizers = s.optimizer_names;
  const auto& seeds = s.seed_values;
  const std::size_t total = models.size() * optimizers.size() * seeds.size();
  std::size_t index = 0;
  for (const std::string& model_name : models) {
    for (const std::uint64_t seed : seeds) {
      for (const std::string& optimizer_name : optimizers) {
        OptimizerOverrides overrides;
        if (s.lr_for.count(optimizer_name)) overrides.lr = s.lr_for.at(optimizer_name);
        if (s.adamw_lr_for.count(optimizer_name)) overrides.adamw_lr = s.adamw_lr_for.at(optimizer_name);
        const std::string counter = "[" + std::to_string(++index) + "/" + std::to_string(total) + "]";
        keep(s, benchmark, run_one(s, data, model_name, optimizer_name, seed, overrides, counter));
      }
    }
  }
}

/// --protocol tuned: the learning rates and weight decay of `optimizer_name` for `model_name`, chosen by the
/// search of recsys/tuning.h; a point's score is the mean best validation NDCG@selection_k over the tuning seeds
/// (--tuning-seeds, default 1000,1001: not the seeds of the final runs). Every point is kept in
/// Benchmark::tuning and reported.
/// Under --budget quick (weight decay not searched, tuning seeds = final seeds) every run of the search is kept in
/// `tuning_runs`, so the chosen point's runs serve as its final runs instead of being trained twice.
OptimizerOverrides tune(const Settings& s, const datasets::SequenceDataset& data, const std::string& model_name,
                        const std::string& optimizer_name, Benchmark& benchmark, std::vector<RunRecord>& tuning_runs) {
  const OptimizerEntry& entry = find_optimizer(protocol_optimizer(s.protocol, optimizer_name));
  OptimizerOverrides start = entry.defaults;
  if (!s.tune_weight_decay) start.weight_decay.reset();      // stays at the optimizer's default
  const auto score = [&](const OptimizerOverrides& point) {  // called once per distinct point
    const std::string key = overrides_text(point);
    TuningPoint tuning{model_name, optimizer_name, key, {}, 0.0, false, {}};
    for (const std::uint64_t seed : s.tuning_seed_values) {
      RunRecord run = run_one(s, data, model_name, optimizer_name, seed, point,
                              "[tuning " + model_name + " " + optimizer_name + " " + key + "]", /*with_rl=*/false);
      tuning.valid_scores.push_back(run.result.best_valid.ndcg(s.trainer.selection_k));
      tuning_runs.push_back(std::move(run));
    }
    for (double v : tuning.valid_scores) tuning.mean_valid += v / static_cast<double>(tuning.valid_scores.size());
    benchmark.tuning.push_back(tuning);
    recbench::write_report(benchmark, s.out);
    return tuning.mean_valid;
  };
  const recsys::TuningOutcome outcome = tune_coordinatewise(start, score);
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
  const auto& models = s.model_names;
  const auto& optimizers = s.optimizer_names;
  const auto& seeds = s.seed_values;
  for (const std::string& model_name : models) {
    for (const std::string& optimizer_name : optimizers) {
      std::vector<RunRecord> tuning_runs;
      const OptimizerOverrides chosen = tune(s, data, model_name, optimizer_name, benchmark, tuning_runs);
      for (const std::uint64_t seed : seeds) {
        // A tuning run of the chosen point on this very seed (budget quick) is this run: the same seed, settings
        // and budget give the same trajectory, so it is kept rather than trained again.
        const auto same = std::find_if(tuning_runs.begin(), tuning_runs.end(), [&](const RunRecord& run) {
          return run.seed == seed && run.configuration == overrides_text(chosen);
        });
        const std::string counter = "[" + model_name + " " + optimizer_name + " at " + overrides_text(chosen) + "]";
        if (same != tuning_runs.end() && s.runs_rl(model_name)) {
          // its SFT is done: resumed from its finished checkpoint (no step retrained), then the GRPO stage
          Settings resuming = s;
          resuming.resume = true;
          keep(s, benchmark, run_one(resuming, data, model_name, optimizer_name, seed, chosen, counter));
        } else {
          keep(s, benchmark,
               same != tuning_runs.end() ? *same : run_one(s, data, model_name, optimizer_name, seed, chosen, counter));
        }
      }
    }
  }
}

/// `recbench sweep --grid optimizer=lr1,lr2,...` (default adamw=3e-4,1e-3,3e-3 muon=0.005,0.02,0.05), checked
/// like --lr before any work: known optimizers of --optimizers, positive finite numbers, the fixed protocol.
std::map<std::string, std::vector<double>> parse_grid(const std::vector<std::string>& given, const Settings& s) {
  const std::vector<std::string> entries =
      given.empty() ? std::vector<std::string>{"adamw=3e-4,1e-3,3e-3", "muon=0.005,0.02,0.05"} : given;
  RG_CHECK(s.protocol == "fixed", "recbench sweep: the sweep varies the lr of --protocol fixed, not of ", s.protocol);
  std::map<std::string, std::vector<double>> grid;
  for (const std::string& entry : entries) {
    const auto eq = entry.find('=');
    RG_CHECK(eq != std::string::npos && eq > 0, "recbench sweep: --grid expects optimizer=lr1,lr2,..., got '", entry,
             "'");
    const std::string name = entry.substr(0, eq);
    RG_CHECK(!grid.count(name), "recbench sweep: --grid sets '", name, "' twice");
    (void)find_optimizer(name);
    for (const std::string& value : split_list({entry.substr(eq + 1)})) {
      grid[name].push_back(recbench::parse_learning_rate(value, "sweep --grid " + name));
    }
  }
  return grid;
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
  add_options(app, settings);
  CLI::App* sweep = app.add_subcommand("sweep", "a small learning-rate grid per optimizer, chosen on validation");
  sweep->fallthrough();  // the run options (--models, --max-epochs, ...) may follow "sweep"
  std::vector<std::string> grid;
  sweep->add_option("--grid", grid,
                    "optimizer=lr1,lr2,... (repeatable); default: adamw=3e-4,1e-3,3e-3 muon=0.005,0.02,0.05");
  CLI11_PARSE(app, argc, argv);
  try {
    finish_settings(settings, app);
    const std::map<std::string, std::vector<double>> sweep_grid =
        sweep->parsed() ? parse_grid(grid, settings) : std::map<std::string, std::vector<double>>{};
    std::string description;
    const datasets::SequenceDataset data = load_dataset(settings, description);
    std::cerr << data.statistics().to_string() << "\n";
    std::string semantic_ids_summary;
    for (const std::string& name : settings.model_names) {
      if (find_model(protocol_model(settings.protocol, name)).generative && settings.semantic_ids == nullptr) {
        settings.semantic_ids = semantic_ids_for(settings, data, semantic_ids_summary);
        std::cerr << semantic_ids_summary;
        auto titles = std::make_shared<std::vector<std::string>>();
        for (const datasets::ItemInfo& item : data.items) titles->push_back(item.title);
        settings.item_titles = std::move(titles);
      }
    }
    // Every model is built once before the first step, so that a setting only the data can refuse (a beam
    // width above the catalogue, say) fails now, not after other runs have trained.
    for (const std::string& name : settings.model_names) {
      (void)find_model(protocol_model(settings.protocol, name))
          .make({data.num_items, data.num_users, settings.semantic_ids, settings.item_titles},
                model_settings(settings, name));
      if (settings.runs_rl(name)) {  // a group of more beams than the catalogue has items, say
        try {
          check_grpo_stage_options(settings.grpo, data.num_items);
        } catch (const Error& error) {
          throw Error(std::string("recbench: --rl-*: ") + error.what());
        }
      }
    }
    if (sweep->parsed()) {
      Benchmark all = make_benchmark(data, description, app, settings.protocol);
      std::ostringstream chosen;
      chosen << "# recbench sweep: " << data.name
             << "\n\n| model | optimizer | lr | valid NDCG@10 |\n|---|---|---|---|\n";
      nlohmann::json best_json = nlohmann::json::object();
      for (const std::string& model : settings.model_names) {
        for (const auto& [optimizer, values] : sweep_grid) {
          double best_lr = 0, best_ndcg = -1;
          for (double lr : values) {
            Settings one = settings;
            one.model_names = {model};
            one.optimizer_names = {optimizer};
            one.seed_values = {settings.seed_values.front()};
            one.lr_for = {{optimizer, lr}};
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
    benchmark.semantic_ids_description = semantic_ids_summary;
    if (settings.protocol == "tuned") {
      std::string tuning_seeds;
      for (const std::uint64_t seed : settings.tuning_seed_values) {
        tuning_seeds += (tuning_seeds.empty() ? "" : ",") + std::to_string(seed);
      }
      benchmark.tuning_description =
          std::string("Budget ") + settings.budget + ": the search covered " +
          (settings.tune_weight_decay ? "the learning rates and the weight decay"
                                      : "the learning rates only (weight decay at each optimizer's default)") +
          ", each point scored on seed(s) " + tuning_seeds +
          (settings.tuning_seed_values == settings.seed_values
               ? ", the final seeds themselves: the chosen point's tuning runs are its final runs (selection on "
                 "validation, so the test metrics stay held out)"
               : ", which are not final seeds") +
          ".";
      run_tuned(settings, data, benchmark);
    } else {
      run_all(settings, data, benchmark);
    }
    std::cout << "\n" << recbench::write_report(benchmark, settings.out);
    std::cout << "\nresults: " << settings.out << "/results.{json,csv,md}, plots: " << settings.out << "/curve_*.svg\n";
    return 0;
  } catch (const std::exception& error) {
    const std::string message = error.what();
    std::cerr << "\n" << (message.starts_with("recbench") ? "" : "recbench: ") << message << "\n";
    return 1;
  }
}
