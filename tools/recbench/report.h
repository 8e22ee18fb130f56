// The recbench report: results.json (every run in full), results.csv (one line per run), results.md (per
// model x optimizer means +- std over seeds, steps to converge, time-to-target, the relative gain of Muon over
// AdamW, and the most-popular baseline) and SVG plots of validation NDCG@10 against steps. Every file is
// written atomically (temporary file, then rename).
#pragma once

#include <string>

#include "tools/recbench/run_record.h"

namespace recgrad::recbench {

/// Writes results.json, results.csv, results.md and the plots into `folder` (created if missing);
/// returns the markdown table (what recbench prints at the end).
std::string write_report(const Benchmark& benchmark, const std::string& folder);

/// Writes `contents` to `path` through "<path>.tmp-<pid>" and a rename, so a reader never sees half a file.
void write_file_atomically(const std::string& path, const std::string& contents);

}  // namespace recgrad::recbench
