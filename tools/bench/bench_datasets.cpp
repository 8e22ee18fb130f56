// Dataset loading benchmarks: the whole MiniOneRec Industrial_and_Scientific release (catalogue JSON,
// info file, three CSV splits; issue 6 asks for under one second in a release build) and its parts:
// the CSV reader alone and the Python-literal int-list parser. The data folder is
// $RECGRAD_DATA_DIR, else <source>/../shared/data/amazon/Industrial_and_Scientific.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "datasets/csv.h"
#include "datasets/minionerec.h"
#include "datasets/python_literal.h"

using namespace recgrad::datasets;

namespace {

std::string industrial_folder() {
  if (const char* dir = std::getenv("RECGRAD_DATA_DIR")) return dir;
  return std::string(RECGRAD_SHARED_DIR) + "/data/amazon/Industrial_and_Scientific";
}

// load_minionerec on the whole release.
void BM_load_minionerec_industrial(benchmark::State& state) {
  const std::string folder = industrial_folder();
  if (!std::filesystem::is_directory(folder)) {
    state.SkipWithError(("no dataset at " + folder).c_str());
    return;
  }
  std::int64_t rows = 0;
  for (auto _ : state) {
    const SequenceDataset d = load_minionerec(folder);
    rows = static_cast<std::int64_t>(d.train.size() + d.valid.size() + d.test.size());
    benchmark::DoNotOptimize(d.items.data());
  }
  state.counters["rows"] = static_cast<double>(rows);
}
BENCHMARK(BM_load_minionerec_industrial)->Unit(benchmark::kMillisecond);

// The CSV reader over the train split (already in memory): bytes per second.
void BM_csv_read_train_split(benchmark::State& state) {
  const std::filesystem::path dir = std::filesystem::path(industrial_folder()) / "train";
  if (!std::filesystem::is_directory(dir)) {
    state.SkipWithError("no dataset");
    return;
  }
  const std::string text = read_file(std::filesystem::directory_iterator(dir)->path().string());
  std::int64_t fields = 0;
  for (auto _ : state) {
    CsvReader reader(text, "train.csv");
    CsvRow row;
    while (reader.next(row)) fields += static_cast<std::int64_t>(row.fields.size());
  }
  benchmark::DoNotOptimize(fields);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_csv_read_train_split)->Unit(benchmark::kMillisecond);

// parse_python_int_list on a ten-item history, the longest in the release.
void BM_parse_int_list_10(benchmark::State& state) {
  const std::string text = "[3437, 642, 642, 2520, 1637, 76, 3565, 12, 3685, 7]";
  std::vector<std::int64_t> out;
  for (auto _ : state) {
    parse_python_int_list(text, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_parse_int_list_10);

}  // namespace
