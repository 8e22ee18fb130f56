#include "recsys/popularity.h"

#include "core/factory.h"
#include "core/ops/view.h"

namespace recgrad::recsys {

MostPopular::MostPopular(const datasets::SequenceDataset& dataset)
    : counts_(static_cast<std::size_t>(dataset.num_items) + 1, 0) {
  const datasets::Split& train = dataset.train;
  auto count = [&](datasets::ItemId item, std::size_t row) {
    RG_CHECK(item >= 1 && item <= dataset.num_items, "MostPopular: dataset '", dataset.name, "', train row ", row,
             ": item ", item, " is not in 1..", dataset.num_items);
    ++counts_[static_cast<std::size_t>(item)];
  };
  for (std::size_t r = 0; r < train.size(); ++r) {
    for (datasets::ItemId item : train.history(r)) count(item, r);
    count(train.targets[r], r);
  }
}

Tensor MostPopular::scores() const {
  std::vector<double> values(counts_.begin(), counts_.end());
  return from_vector(values, {1, static_cast<std::int64_t>(values.size())});
}

RankingMetrics MostPopular::evaluate(const datasets::Split& split, const std::vector<std::int64_t>& cutoffs) const {
  const std::int64_t rows = static_cast<std::int64_t>(split.size());
  const std::vector<std::int64_t> targets(split.targets.begin(), split.targets.end());
  // One score row shared by every evaluation row: a stride-0 view, no copy.
  const Tensor row_scores = raw::expand(scores(), {rows, static_cast<std::int64_t>(counts_.size())});
  return evaluate_full_ranking(row_scores, from_vector(targets, {rows}), {datasets::kPaddingItem}, cutoffs);
}

}  // namespace recgrad::recsys
