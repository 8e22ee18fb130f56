// TIGER at its default (CPU) size on a catalogue shaped like Amazon Industrial (3686 items, 3 levels of 256 codes
// plus the deduplication level, 2000 user buckets): one training step (loss, backward, AdamW) on a batch of 256
// histories of up to 10 items, and one batch of constrained beam-search decoding (256 rows, 20 beams, the
// validation width). tools/bench/compare_torch_tiger.py times the same model and batch in PyTorch side by side.
// Dropout is 0 on both sides (the PyTorch reference has none).
#include <benchmark/benchmark.h>

#include "optim/adamw.h"
#include "recgrad.h"
#include "recsys/generative/tiger.h"

namespace {

using namespace recgrad;
using namespace recgrad::recsys;

constexpr std::int64_t kItems = 3686, kRows = 256, kWindow = 10;

/// Item i's codes are the three bytes of (i * 2654435761) mod 2^24 (distinct for distinct i), then the
/// deduplication level (all 0). compare_torch_tiger.py builds the same.
SemanticIds bench_ids() {
  SemanticIds ids;
  ids.num_items = kItems;
  ids.codebook_sizes = {256, 256, 256};
  ids.codes.assign(static_cast<std::size_t>((kItems + 1) * 3), 0);
  for (std::int64_t item = 1; item <= kItems; ++item) {
    const std::uint64_t code = (static_cast<std::uint64_t>(item) * 2654435761ULL) % (1ULL << 24);
    for (int level = 0; level < 3; ++level) {
      ids.codes[static_cast<std::size_t>(item * 3 + level)] =
          static_cast<std::int32_t>((code >> (16 - 8 * level)) & 255);
    }
  }
  return with_dedup_level(ids);
}

/// Row b: (b mod 10) padding columns, then items ((31 b + 17 j) mod N) + 1; user b; target ((7 b) mod N) + 1.
SequenceBatch bench_batch() {
  std::vector<std::int64_t> history, targets, users;
  for (std::int64_t b = 0; b < kRows; ++b) {
    for (std::int64_t j = 0; j < kWindow; ++j) history.push_back(j < b % kWindow ? 0 : (31 * b + 17 * j) % kItems + 1);
    targets.push_back((7 * b) % kItems + 1);
    users.push_back(b);
  }
  return {.history = from_vector(history, {kRows, kWindow}),
          .targets = from_vector(targets, {kRows}),
          .users = from_vector(users, {kRows}),
          .negatives = {}};
}

std::shared_ptr<Tiger> bench_model() {
  manual_seed(0);
  TigerOptions options;
  options.dropout = 0.0;
  return std::make_shared<Tiger>(bench_ids(), kRows, options);
}

void BM_tiger_train_step(benchmark::State& state) {
  const std::shared_ptr<Tiger> model = bench_model();
  const SequenceBatch batch = bench_batch();
  AdamW optimizer(model->parameters(), AdamWOptions{.lr = 1e-3, .weight_decay = 0.01});
  const auto train_step = [&] {
    optimizer.zero_grad();
    model->loss(batch, LossKind::full_softmax).backward();
    optimizer.step();
  };
  train_step();  // warm-up, outside the timing (as compare_torch.py warms PyTorch up): the first step faults in
                 // fresh memory and allocates the optimizer state
  for (auto _ : state) train_step();
}
BENCHMARK(BM_tiger_train_step)->Unit(benchmark::kMillisecond);

void BM_tiger_beam_search(benchmark::State& state) {
  const std::shared_ptr<Tiger> model = bench_model();
  model->eval();
  const SequenceBatch batch = bench_batch();
  benchmark::DoNotOptimize(model->recommend(batch, 20));  // warm-up, outside the timing
  for (auto _ : state) {
    benchmark::DoNotOptimize(model->recommend(batch, 20));
  }
}
BENCHMARK(BM_tiger_beam_search)->Unit(benchmark::kMillisecond);

}  // namespace
