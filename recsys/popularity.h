// The most-popular baseline: every user gets the same ranking, items ordered by how often they occur
// in the training data. It ignores the sequence entirely, so it is the floor a sequential model must
// clear, reported beside every model.
//
// count(i) = occurrences of item i in the train split, counting every row's history items and its
// target. (With the sliding-window rows of the MiniOneRec release an event appears in up to
// max_history_length + 1 rows, and is counted in each; tests/fixtures/popularity_reference.py computes
// the same counts independently.) The score of item i is count(i); ranks are computed by the shared
// metrics code (recsys/metrics.h), ties pessimistic, the padding id 0 excluded.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "datasets/sequence_dataset.h"
#include "recsys/metrics.h"

namespace recgrad::recsys {

/// Item counts of a training split and the rankings they induce.
class MostPopular {
 public:
  /// Counts the items of `dataset.train` (histories and targets).
  explicit MostPopular(const datasets::SequenceDataset& dataset);

  /// counts()[i] for item ids 0..num_items; entry 0 (padding) is 0.
  const std::vector<std::int64_t>& counts() const { return counts_; }

  /// The score row [1, num_items + 1] (f64, CPU): score(i) = count(i).
  Tensor scores() const;

  /// The metrics of `split` (every row's target ranked among all items 1..num_items).
  RankingMetrics evaluate(const datasets::Split& split,
                          const std::vector<std::int64_t>& cutoffs = kDefaultCutoffs) const;

 private:
  std::vector<std::int64_t> counts_;
};

}  // namespace recgrad::recsys
