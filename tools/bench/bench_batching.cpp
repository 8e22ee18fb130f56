// The data side of training next to the training itself, on the default synthetic dataset:
//   BM_generate_synthetic      building the default dataset (~5k users, ~2k items, ~60k interactions)
//   BM_batching_epoch/L        every batch of one shuffled train epoch (B = 256, max length L)
//   BM_sasrec_like_step/L      forward + backward of one batch through a SASRec-sized model (item
//                              embedding 64, learned positions, 2 causal Transformer encoder layers,
//                              full-vocabulary logits, cross-entropy on every position's next item)
//   BM_full_ranking_ranks      ranks of 4,533 targets among 3,687 items (the Industrial test split's size)
// batching epoch / (steps per epoch x step) is the share of a training epoch spent building batches;
// the step omits the optimizer update, so the share printed by the counters is an upper bound.
#include <benchmark/benchmark.h>

#include "datasets/batching.h"
#include "datasets/synthetic.h"
#include "recgrad.h"
#include "recsys/metrics.h"

using namespace recgrad;

namespace {

constexpr std::int64_t kBatch = 256, kHidden = 64;

const datasets::SequenceDataset& default_dataset() {
  static const datasets::SequenceDataset dataset = datasets::generate_synthetic().dataset;
  return dataset;
}

void BM_generate_synthetic(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(datasets::generate_synthetic());
}
BENCHMARK(BM_generate_synthetic)->Unit(benchmark::kMillisecond);

void BM_batching_epoch(benchmark::State& state) {
  const datasets::Split& train = default_dataset().train;
  datasets::BatchOptions options;
  options.batch_size = kBatch;
  options.max_length = state.range(0);
  std::int64_t epoch = 0;
  for (auto _ : state) {
    const datasets::EpochBatches batches(train, options, epoch++);
    for (const datasets::Batch& batch : batches) benchmark::DoNotOptimize(batch.items.device_pointer());
  }
  state.counters["batches"] = static_cast<double>(datasets::EpochBatches(train, options).size());
}
BENCHMARK(BM_batching_epoch)->Arg(10)->Arg(50)->Unit(benchmark::kMillisecond);

// A SASRec-sized model: what one training step costs per batch.
struct SasrecLike {
  nn::Embedding items, positions;
  nn::TransformerEncoderLayer block1, block2;
  SasrecLike(std::int64_t num_items, std::int64_t max_length)
      : items(num_items + 1, kHidden, 0),
        positions(max_length, kHidden),
        block1(kHidden, 2, 4 * kHidden, 0.2, nn::FeedForwardActivation::gelu, true),
        block2(kHidden, 2, 4 * kHidden, 0.2, nn::FeedForwardActivation::gelu, true) {}

  Tensor loss(const datasets::Batch& batch) const {
    const std::int64_t b = batch.items.size(0), length = batch.items.size(1);
    const Tensor position_ids = arange(0, static_cast<double>(length), 1, {DType::i64});
    Tensor h = add(items(batch.items), positions(position_ids));
    nn::AttentionMasks masks;
    masks.causal = true;
    masks.key_padding_mask = batch.padding_mask;
    h = block2.forward(block1.forward(h, masks), masks);
    const Tensor logits = matmul(reshape(h, {b * length, kHidden}), transpose(items.weight, 0, 1));
    CrossEntropyOptions options;
    options.ignore_index = datasets::kPaddingItem;
    return cross_entropy(logits, reshape(batch.next_items, {b * length}), options);
  }
};

void BM_sasrec_like_step(benchmark::State& state) {
  manual_seed(0);
  const datasets::SequenceDataset& dataset = default_dataset();
  datasets::BatchOptions options;
  options.batch_size = kBatch;
  options.max_length = state.range(0);
  const datasets::EpochBatches batches(dataset.train, options);
  const datasets::Batch batch = batches.batch(0);
  SasrecLike model(dataset.num_items, options.max_length);
  for (auto _ : state) {
    Tensor loss = model.loss(batch);
    loss.backward();
  }
  state.counters["batches"] = static_cast<double>(batches.size());
}
BENCHMARK(BM_sasrec_like_step)->Arg(10)->Arg(50)->Unit(benchmark::kMillisecond);

void BM_full_ranking_ranks(benchmark::State& state) {
  manual_seed(0);
  const std::int64_t rows = 4533, items = 3687;
  const Tensor scores = randn({rows, items});
  const Tensor targets = randint(1, items, {rows});
  for (auto _ : state) benchmark::DoNotOptimize(recsys::full_ranking_ranks(scores, targets, {0}));
}
BENCHMARK(BM_full_ranking_ranks)->Unit(benchmark::kMillisecond);

}  // namespace
