// What recbench keeps of one training run, and of the whole benchmark, before writing the report.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "recsys/generative/grpo_stage.h"
#include "recsys/metrics.h"
#include "recsys/trainer.h"

namespace recgrad::recbench {

/// One (model, optimizer, seed) run.
struct RunRecord {
  std::string model, optimizer;
  /// What sets this run apart from another of the same model and optimizer: "" for the optimizer's own settings,
  /// else its learning rates and weight decay ("lr=0.02 adamw_lr=0.01"). Runs of different configurations are
  /// never averaged together.
  std::string configuration;
  std::uint64_t seed = 0;
  std::string model_description, optimizer_description;
  std::int64_t history_length = 0;  // the model's history window
  recsys::TrainerOptions options;
  recsys::TrainResult result;
  std::int64_t time_to_target = -1;    // first step reaching the same-seed AdamW run's best valid NDCG@10; -1 never
  double time_to_target_seconds = -1;  // the training seconds at that step; -1 never
  double peak_host_bytes = 0.0;        // the process's peak resident set so far (VmHWM)
  double peak_device_bytes = 0.0;      // the CUDA allocator's peak during this run (0 on the CPU)
  /// MiniOneRec's GRPO stage after SFT (has_rl): it starts from the SFT run's best weights, whose test metrics
  /// are result.test (= rl.sft_test), and ends with rl.test.
  bool has_rl = false;
  recsys::GrpoStageResult rl;
  std::string rl_description;  // the stage's settings
  double rl_peak_host_bytes = 0.0;
};

/// One point of a tuning grid (--protocol tuned): an optimizer's configuration and its validation score.
struct TuningPoint {
  std::string model, optimizer, configuration;
  std::vector<double> valid_scores;  // best validation NDCG@selection_k of each tuning seed
  double mean_valid = 0.0;
  bool chosen = false;
  std::vector<std::string> unbracketed;  // on the chosen point: axes whose winner sat on the grid's final edge
};

/// Everything the report needs.
struct Benchmark {
  std::string protocol = "fixed";        // recsys/protocols.h
  std::vector<TuningPoint> tuning;       // the grid points of --protocol tuned, in the order they ran
  std::string tuning_description;        // --protocol tuned: what the search covered and on which seeds
  std::string semantic_ids_description;  // the generative models' semantic IDs and their codebook usage
  std::string dataset_name, dataset_description, dataset_statistics;
  std::string git_revision, machine, started_at;
  recsys::RankingMetrics most_popular_valid, most_popular_test;
  std::vector<RunRecord> runs;
  std::map<std::string, std::string> settings;  // the command line's settings, for the record
};

}  // namespace recgrad::recbench
