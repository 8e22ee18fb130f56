// Residual quantization by k-means (RQ-KMeans), the simple baseline for semantic IDs: level 0 clusters the item
// features, each further level clusters what the levels before it left unexplained (the residual), and an item's
// semantic ID is its cluster at every level:
//
//   r_0 = x_i,   code_l(i) = argmin_k ||r_l - C_l[k]||^2,   r_{l+1} = r_l - C_l[code_l(i)]
//
// so x_i ~ sum_l C_l[code_l(i)], a coarse-to-fine code whose first tokens name broad groups of similar items.
// k-means here is Lloyd's algorithm from a k-means++ start (seeded), with empty clusters reset to the point the
// current centroids explain worst (a dead code never stays dead).
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "recsys/generative/semantic_ids.h"

namespace recgrad::recsys {

/// One k-means clustering of points [N, D] f32.
struct KMeansResult {
  Tensor centroids;                      // [K, D] f32
  std::vector<std::int32_t> assignment;  // N entries: each point's nearest centroid
  double inertia = 0;                    // sum over points of the squared distance to its centroid
  std::int64_t iterations = 0;           // Lloyd iterations run (stops early when no assignment changes)
};

/// k-means with k clusters (k <= N) on `points` [N, D]: k-means++ seeding from `seed`, then at most
/// `max_iterations` Lloyd iterations.
KMeansResult kmeans(const Tensor& points, std::int64_t k, std::int64_t max_iterations, std::uint64_t seed);

/// The nearest row of `centroids` [K, D] to each row of `points` [N, D] (ties: the lower index).
std::vector<std::int32_t> nearest_centroids(const Tensor& points, const Tensor& centroids);

struct RqKMeansOptions {
  std::int64_t levels = 3;
  std::int64_t codebook_size = 256;  // codes per level (capped at the number of items)
  std::int64_t max_iterations = 50;
  std::uint64_t seed = 0;
};

/// The quantizer and the semantic IDs it gives the catalogue.
struct ResidualQuantization {
  std::vector<Tensor> codebooks;            // per level [K, D]
  SemanticIds ids;                          // without the deduplication level
  std::vector<double> mean_residual_norm2;  // per level l: mean over items of ||r_{l+1}||^2 (after level l)
  double mean_feature_norm2 = 0;            // mean ||x_i||^2, the "residual" before level 0
};

/// RQ-KMeans over item features [num_items + 1, D] (row 0, padding, is ignored).
ResidualQuantization rq_kmeans(const Tensor& item_features, const RqKMeansOptions& options = {});

}  // namespace recgrad::recsys
