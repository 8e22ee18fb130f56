// The synthetic dataset, recbench's built-in default: user sequences drawn from a known latent model,
// so that a good sequential recommender has something to learn beyond popularity, and the best
// achievable metrics can be computed.
//
// The latent model (everything drawn from one seed):
// - Popularity: item popularity follows Zipf's law, weight(i) = 1 / r(i)^s, where r(i) is the item's
//   rank in a random permutation of 1..num_items and s = `zipf_exponent` (0 = uniform; about 1 for
//   real catalogues). Data imbalance is one of the things under study, so s is configurable.
// - Taste clusters: every item belongs to one of `num_clusters` clusters (a random order of the items
//   dealt round-robin, so clusters have equal sizes and mixed popularity), every user to one cluster
//   (uniformly at random); a user's taste draw is an item of the user's cluster, chosen in proportion
//   to popularity: P_c(j) = weight(j) / sum of weight over cluster c  (0 outside c).
// - Transitions: every item i has `successors_per_item` likely successors, drawn from i's cluster
//   (in proportion to popularity, without repeats, never i itself), with transition probabilities
//   T[i][k] proportional to 1 / (k + 1) for the k-th successor.
// - Sequences: user u's length is min_sequence_length + Geometric (mean mean_sequence_length, capped
//   at max_sequence_length). The first item is a taste draw; each next item, given the previous item p,
//   follows  P(next = j | p, u) = t * T[p][j] + (1 - t - g) * P_cluster(u)(j) + g * P_global(j)
//   with t = `transition_probability`, g = `noise_probability` and P_global(j) proportional to
//   weight(j) over all items. Sequences drift: after a noise draw, successors carry the user through
//   another cluster for a while (in the default about 83% of targets lie in the user's cluster). Events have
//   timestamps: a user starts at a uniform time in [0, 1) and the gaps between events are exponential with mean
//   `mean_time_gap`.
// - Item text: a title "<attribute words> <cluster noun> <model code>" (e.g. "compact steel valve
//   K-0412"), the cluster noun as the category, a brand from a small list, a one-sentence description;
//   and a semantic ID {"<a_cluster>", "<b_attributes>", "<c_k>"} that groups items by cluster and
//   attributes (k tells apart items sharing both), for generative models that want one ready-made.
//
// Splits (`SyntheticSplit`):
// - Windowed (the protocol of the MiniOneRec Amazon release): per user, sample i >= 1 is
//   items[max(0, i - max_history_length) : i] -> items[i]; all samples of all users are sorted by the
//   target's timestamp and cut globally into the first floor(0.8 N) (train), the next floor(0.1 N)
//   (valid) and the rest (test).
// - LeaveOneOut: per user, the last item is the test target, the second-to-last the valid target,
//   every earlier item i >= 1 a train target (history windows as above).
// Item ids follow SequenceDataset: 1..num_items, 0 is padding.
//
// Expected ceiling of each metric. The Bayes-optimal predictor knows the latent model: it ranks the
// items of a test row by P(next = j | previous item, the user's cluster) above (an oracle that knows
// the cluster is at least as good as any predictor that must infer it from the history, so its
// metrics bound every model's from above, up to sampling noise of the test rows). On the default
// configuration (seed 1, Windowed: 5,000 users, 2,000 items, 59,917 interactions, 5,493 test rows)
// tests/datasets/test_synthetic.cpp computes and asserts, on the test split:
//   Bayes-optimal:  Recall@1 0.310  @5 0.683  @10 0.754  @20 0.812   NDCG@5 0.511  @10 0.533  @20 0.548   MRR 0.470
//   most popular:   Recall@1 0.040  @5 0.121  @10 0.195  @20 0.286   NDCG@5 0.081  @10 0.104  @20 0.128   MRR 0.091
// A trained sequential model should land between the two rows (NDCG@10 0.104 .. 0.533).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/sequence_dataset.h"

namespace recgrad::datasets {

/// How the synthetic sequences are cut into train/valid/test rows (see the top of this file).
enum class SyntheticSplit { Windowed, LeaveOneOut };

/// The knobs of the synthetic generator; the defaults give ~5k users, ~2k items, ~60k interactions.
struct SyntheticConfig {
  std::uint64_t seed = 1;
  std::int32_t num_users = 5000;
  std::int32_t num_items = 2000;
  std::int32_t num_clusters = 20;
  double zipf_exponent = 1.0;  // popularity weight(i) = 1 / rank(i)^s
  std::int32_t successors_per_item = 3;
  double transition_probability = 0.5;  // t: the next item follows the previous item's successors
  double noise_probability = 0.1;       // g: the next item is a draw from global popularity
  double mean_sequence_length = 12.0;
  std::int32_t min_sequence_length = 3;
  std::int32_t max_sequence_length = 50;
  double mean_time_gap = 0.02;
  std::int32_t max_history_length = 10;  // rows keep at most this many previous items
  SyntheticSplit split = SyntheticSplit::Windowed;

  static constexpr std::int32_t kMaxItems = 10'000'000;
  static constexpr std::int32_t kMaxSequenceLength = 1'000'000;  // also bounds max_history_length
  static constexpr double kMaxInteractions = 1e8;                // bounds num_users * mean_sequence_length

  /// Throws recgrad::Error naming the first setting out of range: each knob's own rule, the size bounds
  /// above (no overflow, no allocation the machine cannot hold), and that every split can get rows
  /// (Windowed: num_users * (min_sequence_length - 1) >= 10; LeaveOneOut: some sequence longer than 3).
  void validate() const;
};

/// The latent model behind a synthetic dataset: what the Bayes-optimal predictor knows.
struct SyntheticTruth {
  std::vector<std::int32_t> cluster_of_user;    // [num_users]
  std::vector<std::int32_t> cluster_of_item;    // [num_items + 1]; entry 0 (padding) is -1
  std::vector<double> popularity;               // [num_items + 1] normalised: P_global; entry 0 is 0
                                                // P_c(j) = popularity[j] / cluster_mass[c] for j in c
  std::vector<std::vector<ItemId>> successors;  // [num_items + 1]: item i's successors, most likely first
  std::vector<double> successor_probability;    // T[i][k] for the k-th successor (same for every item)
  std::vector<double> cluster_mass;             // [num_clusters]: P_global mass of each cluster
  double transition_probability = 0.0;
  double noise_probability = 0.0;

  /// P(next = j | previous item, user) for j = 0..num_items (entry 0 is 0), the formula at the top of
  /// this file. previous_item = kPaddingItem gives the distribution of a first item (a taste draw).
  std::vector<double> next_item_distribution(UserId user, ItemId previous_item) const;
};

/// A generated dataset and the latent model it came from.
struct SyntheticData {
  SequenceDataset dataset;
  SyntheticTruth truth;
};

/// Generates the dataset named "synthetic" from `config` (deterministic in config.seed).
SyntheticData generate_synthetic(const SyntheticConfig& config = {});

}  // namespace recgrad::datasets
