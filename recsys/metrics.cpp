#include "recsys/metrics.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "core/factory.h"
#include "core/ops/compare.h"
#include "core/ops/copy.h"
#include "core/ops/index.h"
#include "core/ops/reduce.h"
#include "core/ops/view.h"

namespace recgrad::recsys {

const MetricsAtK& RankingMetrics::at(std::int64_t k) const {
  for (const MetricsAtK& entry : at_k)
    if (entry.k == k) return entry;
  throw Error(
      detail::concat("RankingMetrics: no metrics at cut-off K = ", k, " (computed for ", at_k.size(), " cut-offs)"));
}

RankingAccumulator::RankingAccumulator(std::vector<std::int64_t> cutoffs) : cutoffs_(std::move(cutoffs)) {
  RG_CHECK(!cutoffs_.empty(), "RankingAccumulator: no cut-offs given");
  for (std::int64_t k : cutoffs_) RG_CHECK(k >= 1, "RankingAccumulator: cut-off K must be >= 1, got ", k);
  recall_sum_.assign(cutoffs_.size(), 0.0);
  ndcg_sum_.assign(cutoffs_.size(), 0.0);
  mrr_at_k_sum_.assign(cutoffs_.size(), 0.0);
}

void RankingAccumulator::add(std::int64_t rank) {
  RG_CHECK(rank >= 0, "RankingAccumulator: a rank is 0-based and must be >= 0, got ", rank);
  ++rows_;
  if (rank == kNotRanked) return;  // a miss at every cut-off, 0 reciprocal rank
  const double reciprocal_rank = 1.0 / (static_cast<double>(rank) + 1.0);
  mrr_sum_ += reciprocal_rank;
  for (std::size_t i = 0; i < cutoffs_.size(); ++i) {
    if (rank >= cutoffs_[i]) continue;
    recall_sum_[i] += 1.0;
    ndcg_sum_[i] += 1.0 / std::log2(static_cast<double>(rank) + 2.0);
    mrr_at_k_sum_[i] += reciprocal_rank;
  }
}

void RankingAccumulator::add(const std::vector<std::int64_t>& ranks) {
  for (std::int64_t rank : ranks) add(rank);
}

void RankingAccumulator::merge(const RankingAccumulator& other) {
  RG_CHECK(other.cutoffs_ == cutoffs_, "RankingAccumulator::merge: the accumulators have different cut-offs");
  for (std::size_t i = 0; i < cutoffs_.size(); ++i) {
    recall_sum_[i] += other.recall_sum_[i];
    ndcg_sum_[i] += other.ndcg_sum_[i];
    mrr_at_k_sum_[i] += other.mrr_at_k_sum_[i];
  }
  mrr_sum_ += other.mrr_sum_;
  rows_ += other.rows_;
}

RankingMetrics RankingAccumulator::result() const {
  RankingMetrics metrics;
  metrics.rows = rows_;
  const double scale = rows_ > 0 ? 1.0 / static_cast<double>(rows_) : 0.0;
  for (std::size_t i = 0; i < cutoffs_.size(); ++i)
    metrics.at_k.push_back({cutoffs_[i], recall_sum_[i] * scale, ndcg_sum_[i] * scale, mrr_at_k_sum_[i] * scale});
  metrics.mrr = mrr_sum_ * scale;
  return metrics;
}

namespace {
// Rows per chunk of a full ranking are chosen so a chunk holds about this many scores: the b8 and
// i32 temporaries of one chunk then stay a few tens of megabytes whatever the number of rows.
constexpr std::int64_t kScoresPerChunk = std::int64_t{1} << 22;

// Per row of `scores` [rows, n], how many entries lie strictly below that row's `target_scores` [rows, 1].
std::vector<std::int64_t> count_below(const Tensor& scores, const Tensor& target_scores) {
  const Tensor below = raw::sum(raw::to_dtype(raw::lt(scores, target_scores), DType::i32), {1});
  return raw::to_device(below, Device::cpu()).to_vector<std::int64_t>();
}
}  // namespace

std::vector<std::int64_t> full_ranking_ranks(const Tensor& scores, const Tensor& targets,
                                             const std::vector<std::int64_t>& excluded_items) {
  RG_CHECK(scores.dim() == 2, "full_ranking_ranks: scores must be [rows, items], got shape ", scores.shape());
  RG_CHECK(scores.dtype() == DType::f32 || scores.dtype() == DType::f64,
           "full_ranking_ranks: scores must be f32 or f64, got ", scores.dtype());
  const std::int64_t rows = scores.size(0);
  const std::int64_t items = scores.size(1);
  RG_CHECK(targets.dim() == 1 && targets.size(0) == rows, "full_ranking_ranks: targets must be [", rows,
           "] (one per score row), got shape ", targets.shape());
  RG_CHECK(targets.dtype() == DType::i64 || targets.dtype() == DType::i32,
           "full_ranking_ranks: targets must be i64 or i32 item ids, got ", targets.dtype());

  std::vector<std::int64_t> excluded = excluded_items;
  std::sort(excluded.begin(), excluded.end());
  excluded.erase(std::unique(excluded.begin(), excluded.end()), excluded.end());
  std::vector<bool> is_excluded(static_cast<std::size_t>(items), false);
  for (std::int64_t item : excluded) {
    RG_CHECK(item >= 0 && item < items, "full_ranking_ranks: excluded item ", item, " is outside [0, ", items, ")");
    is_excluded[static_cast<std::size_t>(item)] = true;
  }
  const std::int64_t eligible = items - static_cast<std::int64_t>(excluded.size());

  const std::vector<std::int64_t> target_ids = raw::to_device(targets, Device::cpu()).to_vector<std::int64_t>();
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int64_t t = target_ids[static_cast<std::size_t>(r)];
    RG_CHECK(t >= 0 && t < items, "full_ranking_ranks: row ", r, ": target item ", t, " is outside [0, ", items, ")");
    RG_CHECK(!is_excluded[static_cast<std::size_t>(t)], "full_ranking_ranks: row ", r, ": target item ", t,
             " is one of the excluded items (e.g. padding)");
  }
  std::vector<std::int64_t> ranks(static_cast<std::size_t>(rows));
  if (rows == 0) return ranks;

  const Device device = scores.device();
  const Tensor target_index = raw::to_device(from_vector(target_ids, {rows, 1}), device);
  const Tensor excluded_index =
      excluded.empty() ? Tensor()
                       : raw::to_device(from_vector(excluded, {static_cast<std::int64_t>(excluded.size())}), device);
  const std::int64_t chunk_rows = std::max<std::int64_t>(1, kScoresPerChunk / std::max<std::int64_t>(items, 1));
  for (std::int64_t begin = 0; begin < rows; begin += chunk_rows) {
    const std::int64_t count = std::min(chunk_rows, rows - begin);
    const Tensor block = raw::narrow(scores, 0, begin, count);
    const Tensor target_scores = raw::gather(block, 1, raw::narrow(target_index, 0, begin, count));  // [count, 1]
    const std::vector<std::int64_t> below = count_below(block, target_scores);
    std::vector<std::int64_t> excluded_below(static_cast<std::size_t>(count), 0);
    if (excluded_index.defined())
      excluded_below = count_below(raw::index_select(block, 1, excluded_index), target_scores);
    // Every eligible item other than the target that is not strictly below it ranks above it.
    for (std::int64_t i = 0; i < count; ++i)
      ranks[static_cast<std::size_t>(begin + i)] = eligible - 1 - (below[i] - excluded_below[i]);
  }
  return ranks;
}

RankingMetrics evaluate_full_ranking(const Tensor& scores, const Tensor& targets,
                                     const std::vector<std::int64_t>& excluded_items,
                                     const std::vector<std::int64_t>& cutoffs) {
  RankingAccumulator accumulator(cutoffs);
  accumulator.add(full_ranking_ranks(scores, targets, excluded_items));
  return accumulator.result();
}

std::int64_t rank_in_list(const std::vector<std::int64_t>& ranked_items, std::int64_t target, ListMatch match,
                          const std::vector<std::int64_t>& semantic_id_of_item) {
  // identity(item): what two list entries must share to count as the same entry.
  auto identity = [&](std::int64_t item, const char* what) {
    if (match == ListMatch::item) return item;
    RG_CHECK(item >= 0 && item < static_cast<std::int64_t>(semantic_id_of_item.size()), "rank_in_list: ", what,
             " item ", item, " has no semantic ID (semantic_id_of_item covers [0, ", semantic_id_of_item.size(), "))");
    return semantic_id_of_item[static_cast<std::size_t>(item)];
  };
  const std::int64_t wanted = identity(target, "target");
  for (std::int64_t item : ranked_items) identity(item, "listed");  // every entry checked, not just those before a hit
  std::unordered_set<std::int64_t> seen;
  std::int64_t position = 0;
  for (std::int64_t item : ranked_items) {
    const std::int64_t id = identity(item, "listed");
    if (!seen.insert(id).second) continue;  // a repeat of an entry already ranked
    if (id == wanted) return position;
    ++position;
  }
  return kNotRanked;
}

RankingMetrics evaluate_ranked_lists(const std::vector<std::vector<std::int64_t>>& lists,
                                     const std::vector<std::int64_t>& targets, ListMatch match,
                                     const std::vector<std::int64_t>& semantic_id_of_item,
                                     const std::vector<std::int64_t>& cutoffs) {
  RG_CHECK(lists.size() == targets.size(), "evaluate_ranked_lists: ", lists.size(), " ranked lists but ",
           targets.size(), " targets");
  RankingAccumulator accumulator(cutoffs);
  for (std::size_t r = 0; r < lists.size(); ++r)
    accumulator.add(rank_in_list(lists[r], targets[r], match, semantic_id_of_item));
  return accumulator.result();
}

}  // namespace recgrad::recsys
