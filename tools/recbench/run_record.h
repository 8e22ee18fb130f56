// What recbench keeps of one training run, and of the whole benchmark, before writing the report.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "recsys/metrics.h"
#include "recsys/trainer.h"

namespace recgrad::recbench {

/// One (model, optimizer, seed) run.
struct RunRecord {
  std::string model, optimizer;
  std::uint64_t seed = 0;
  std::string model_description, optimizer_description;
  std::int64_t history_length = 0;  // the model's history window
  recsys::TrainerOptions options;
  recsys::TrainResult result;
  std::int64_t time_to_target = -1;  // first step reaching the same-seed AdamW run's best valid NDCG@10; -1 never
  double peak_host_bytes = 0.0;      // the process's peak resident set so far (VmHWM)
  double peak_device_bytes = 0.0;    // the CUDA allocator's peak during this run (0 on the CPU)
};

/// Everything the report needs.
struct Benchmark {
  std::string dataset_name, dataset_description, dataset_statistics;
  std::string git_revision, machine, started_at;
  recsys::RankingMetrics most_popular_valid, most_popular_test;
  std::vector<RunRecord> runs;
  std::map<std::string, std::string> settings;  // the command line's settings, for the record
};

}  // namespace recgrad::recbench
