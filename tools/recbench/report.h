// The recbench report, written into the results folder; every file atomically (temporary file, then rename):
//   results.json  every run in full, the paired comparisons and (--protocol tuned) the tuning grid
//   results.csv   one line per run
//   results.md    one row per model x optimizer x configuration: test metrics as mean +- std over seeds, steps to
//                 converge, time-to-target, and the paired (by seed) relative change of steps and of test NDCG@10
//                 against AdamW with 95% confidence intervals; the most-popular baseline
//   REPORT.md     for a reader who has not seen the code: per model, what was compared, the MuonRec paper's claims
//                 (32.4% fewer steps to converge, +12.6% NDCG@10) against the paired measurements with a verdict
//                 (recsys/comparison.h), the sanity floor, the curves, the audit's per-layer curvature and the
//                 tuning grid when there are any, and a plain-language summary
//   curve_<model>.svg (validation NDCG@10 against steps), audit_*.svg (with --audit)
//
// Runs are grouped by (model, optimizer, configuration); runs of different configurations are never averaged
// together. Every group is paired, seed by seed, with the model's AdamW reference group: the AdamW group with the
// optimizer's own settings (configuration ""), else the first AdamW group that ran (adamw_reference_run below).
#pragma once

#include <string>

#include "tools/recbench/run_record.h"

namespace recgrad::recbench {

/// Writes results.json, results.csv, results.md, REPORT.md and the plots into `folder` (created if missing);
/// returns the markdown table of results.md (what recbench prints at the end).
std::string write_report(const Benchmark& benchmark, const std::string& folder);

/// The AdamW run that the report pairs `run` with: of the same model and seed, in the model's AdamW reference group
/// (configuration "", else the first AdamW configuration that ran); nullptr when there is none. Time-to-target
/// should be measured against this run's best validation NDCG@10 so that it matches the report's pairing.
const RunRecord* adamw_reference_run(const Benchmark& benchmark, const RunRecord& run);

/// Writes `contents` to `path` through "<path>.tmp-<pid>" and a rename, so a reader never sees half a file.
void write_file_atomically(const std::string& path, const std::string& contents);

}  // namespace recgrad::recbench
