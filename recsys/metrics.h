// Ranking metrics of next-item recommendation: Recall@K (= HR@K, one target per row), NDCG@K and MRR.
//
// Everything starts from the 0-based rank of the target item in a row's ranking (0 = ranked first):
//   Recall@K = [rank < K]
//   NDCG@K   = [rank < K] / log2(rank + 2)     (one relevant item, so the ideal DCG is 1)
//   MRR@K    = [rank < K] / (rank + 1)
//   MRR      = 1 / (rank + 1)                   (full ranking, no cut-off)
// each averaged over the evaluation rows. A target that a ranking does not contain at all (a ranked
// list without it) has rank kNotRanked and counts as a miss everywhere (0 for each metric).
//
// Two sources of ranks:
// - full ranking: a score matrix [rows, items] from a model that scores every item. The rank of the
//   target t in row r counts the other eligible items j that are NOT strictly below it:
//       rank = #{ j eligible, j != t : !(s[r][j] < s[r][t]) }
//            = #{ j : s_j > s_t } + #{ j != t : s_j == s_t } + #{ j : s_j is NaN }
//   so ties are counted pessimistically (an item tied with the target ranks above it; a constant
//   score matrix ranks every target last), a NaN score ranks above the target, and a NaN target
//   score ranks last. "Eligible" is every item except the excluded ones (for example the padding
//   id 0): they never count, whatever their score. K larger than the number of items is allowed
//   (every target is then a hit). The counts are raw tensor ops (gather, lt, sum over the row), so
//   the scores may live on the CPU or on a GPU; only one i64 per row comes back to the host.
// - ranked lists (what beam search returns): item ids, best first. The match is a parameter:
//   ListMatch::item counts a hit when the target item itself appears; ListMatch::semantic_id counts
//   a hit when any item with the target's semantic ID appears (generative models decode semantic
//   IDs, and several items may share one). The list is first deduplicated under the chosen
//   identity (later repeats of an item, or of a semantic ID, are dropped), so the rank is the number
//   of distinct items (or distinct semantic IDs) ahead of the first match.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <vector>

#include "core/tensor.h"

namespace recgrad::recsys {

/// The rank of a target that a ranking does not contain: a miss at every cut-off.
inline constexpr std::int64_t kNotRanked = std::numeric_limits<std::int64_t>::max();

/// The cut-offs recbench reports.
/// 3 and 50 follow the MiniOneRec and TIGER papers, which report HR/NDCG@{1, 3, 5, 10, 20, 50} of 50 beams.
inline const std::vector<std::int64_t> kDefaultCutoffs = {1, 3, 5, 10, 20, 50};

/// Recall@K, NDCG@K and MRR@K averaged over the rows, for one cut-off K.
struct MetricsAtK {
  std::int64_t k = 0;
  double recall = 0.0;
  double ndcg = 0.0;
  double mrr = 0.0;
};

/// The metrics of one evaluation: one entry per cut-off (in the order asked for) and the full MRR.
struct RankingMetrics {
  std::int64_t rows = 0;
  std::vector<MetricsAtK> at_k;
  double mrr = 0.0;  // mean of 1 / (rank + 1) over the full ranking

  /// The entry for cut-off k; throws when k was not computed.
  const MetricsAtK& at(std::int64_t k) const;
  double recall(std::int64_t k) const { return at(k).recall; }
  double ndcg(std::int64_t k) const { return at(k).ndcg; }
};

/// Collects target ranks (possibly batch by batch) and averages the metrics over them.
class RankingAccumulator {
 public:
  /// Throws for an empty list or a cut-off below 1.
  explicit RankingAccumulator(std::vector<std::int64_t> cutoffs = kDefaultCutoffs);

  /// Adds one row with the 0-based rank of its target (kNotRanked for a target not in the ranking).
  void add(std::int64_t rank);
  void add(const std::vector<std::int64_t>& ranks);
  /// Adds the ranks of another accumulator with the same cut-offs.
  void merge(const RankingAccumulator& other);

  std::int64_t rows() const { return rows_; }
  /// The averages so far (all zero when no row was added).
  RankingMetrics result() const;

 private:
  std::vector<std::int64_t> cutoffs_;
  std::vector<double> recall_sum_, ndcg_sum_, mrr_at_k_sum_;
  double mrr_sum_ = 0.0;
  std::int64_t rows_ = 0;
};

/// 0-based pessimistic ranks (see the top of this file) of targets[r] in row r of `scores` [rows, items]
/// (f32 or f64, CPU or CUDA): an i64 tensor [rows] on the CPU. `targets` holds item ids (i64 or i32,
/// any device, `rows` of them); `excluded_items` never count, and a target among them is an error, as
/// are out-of-range ids. Rows are processed in chunks so the temporaries stay small.
std::vector<std::int64_t> full_ranking_ranks(const Tensor& scores, const Tensor& targets,
                                             const std::vector<std::int64_t>& excluded_items);

/// The metrics of a full ranking: full_ranking_ranks averaged by a RankingAccumulator.
RankingMetrics evaluate_full_ranking(const Tensor& scores, const Tensor& targets,
                                     const std::vector<std::int64_t>& excluded_items,
                                     const std::vector<std::int64_t>& cutoffs = kDefaultCutoffs);

/// What counts as a hit in a ranked list.
enum class ListMatch {
  item,         // the target item id itself appears
  semantic_id,  // an item with the same semantic ID as the target appears
};

/// The 0-based rank of `target` in `ranked_items` (best first), after dropping repeats under the
/// match identity; kNotRanked when absent. For ListMatch::semantic_id, `semantic_id_of_item[i]` is a
/// group number for item i (items sharing a semantic ID share the number); ids outside it are errors.
/// For ListMatch::item, `semantic_id_of_item` is ignored (may be empty).
std::int64_t rank_in_list(const std::vector<std::int64_t>& ranked_items, std::int64_t target, ListMatch match,
                          const std::vector<std::int64_t>& semantic_id_of_item = {});

/// The metrics of ranked lists: lists[r] is row r's ranking, targets[r] its target.
RankingMetrics evaluate_ranked_lists(const std::vector<std::vector<std::int64_t>>& lists,
                                     const std::vector<std::int64_t>& targets, ListMatch match,
                                     const std::vector<std::int64_t>& semantic_id_of_item = {},
                                     const std::vector<std::int64_t>& cutoffs = kDefaultCutoffs);

/// Numbers the distinct values of `semantic_ids` (one per item, e.g. "<a_1><b_2><c_3>") in order of first
/// appearance: the group numbers that rank_in_list's semantic_id match compares.
template <typename SemanticId>
std::vector<std::int64_t> semantic_id_groups(const std::vector<SemanticId>& semantic_ids) {
  std::map<SemanticId, std::int64_t> group_of;
  std::vector<std::int64_t> groups;
  groups.reserve(semantic_ids.size());
  for (const SemanticId& id : semantic_ids) {
    const auto [it, inserted] = group_of.emplace(id, static_cast<std::int64_t>(group_of.size()));
    groups.push_back(it->second);
  }
  return groups;
}
}  // namespace recgrad::recsys
