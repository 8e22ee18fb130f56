#include "recsys/generative/rq_kmeans.h"

#include <algorithm>
#include <limits>

#include "core/error.h"
#include "core/factory.h"
#include "core/host_random.h"
#include "core/ops/copy.h"

namespace recgrad::recsys {
namespace {

// Squared distance between two rows of length d.
double squared_distance(const float* a, const float* b, std::int64_t d) {
  double sum = 0;
  for (std::int64_t j = 0; j < d; ++j) {
    const double diff = static_cast<double>(a[j]) - static_cast<double>(b[j]);
    sum += diff * diff;
  }
  return sum;
}

// For each point, its nearest centroid and the squared distance to it.
void assign(const float* points, std::int64_t n, const float* centroids, std::int64_t k, std::int64_t d,
            std::vector<std::int32_t>& nearest, std::vector<double>& distance) {
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < n; ++i) {
    double best = std::numeric_limits<double>::infinity();
    std::int32_t best_index = 0;
    for (std::int64_t c = 0; c < k; ++c) {
      const double dist = squared_distance(points + i * d, centroids + c * d, d);
      if (dist < best) {
        best = dist;
        best_index = static_cast<std::int32_t>(c);
      }
    }
    nearest[static_cast<std::size_t>(i)] = best_index;
    distance[static_cast<std::size_t>(i)] = best;
  }
}

Tensor contiguous_f32(const Tensor& x, const char* what) {
  RG_CHECK(x.dim() == 2 && x.dtype() == DType::f32, what, ": expected a 2-D f32 tensor, got ", x.shape(), " ",
           dtype_name(x.dtype()));
  return raw::contiguous(raw::to_device(x, Device::cpu()));
}

}  // namespace

std::vector<std::int32_t> nearest_centroids(const Tensor& points, const Tensor& centroids) {
  const Tensor p = contiguous_f32(points, "nearest_centroids: points");
  const Tensor c = contiguous_f32(centroids, "nearest_centroids: centroids");
  RG_CHECK(p.size(1) == c.size(1), "nearest_centroids: points ", p.shape(), " and centroids ", c.shape(),
           " differ in width");
  std::vector<std::int32_t> nearest(static_cast<std::size_t>(p.size(0)));
  std::vector<double> distance(nearest.size());
  assign(p.data<float>(), p.size(0), c.data<float>(), c.size(0), p.size(1), nearest, distance);
  return nearest;
}

KMeansResult kmeans(const Tensor& points, std::int64_t k, std::int64_t max_iterations, std::uint64_t seed) {
  const Tensor p = contiguous_f32(points, "kmeans: points");
  const std::int64_t n = p.size(0), d = p.size(1);
  RG_CHECK(k >= 1 && k <= n, "kmeans: k must be in 1..", n, " (the number of points), got ", k);
  RG_CHECK(max_iterations >= 1, "kmeans: max_iterations must be >= 1, got ", max_iterations);
  const float* x = p.data<float>();
  KMeansResult result;
  result.centroids = zeros({k, d});
  float* centroids = result.centroids.data<float>();

  // k-means++: the first centroid uniformly, each next one with probability proportional to the squared
  // distance to the nearest centroid chosen so far.
  HostRandom random(seed, /*stream=*/0x6b6d65616e73ULL);  // "kmeans"
  std::vector<double> nearest2(static_cast<std::size_t>(n), std::numeric_limits<double>::infinity());
  std::int64_t chosen = random.index(n);
  for (std::int64_t c = 0; c < k; ++c) {
    std::copy(x + chosen * d, x + (chosen + 1) * d, centroids + c * d);
    double total = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      nearest2[static_cast<std::size_t>(i)] =
          std::min(nearest2[static_cast<std::size_t>(i)], squared_distance(x + i * d, centroids + c * d, d));
      total += nearest2[static_cast<std::size_t>(i)];
    }
    if (c + 1 == k) break;
    if (total <= 0) {  // every point coincides with a centroid: any point will do
      chosen = random.index(n);
      continue;
    }
    double target = random.uniform() * total;
    chosen = n - 1;
    for (std::int64_t i = 0; i < n; ++i) {
      target -= nearest2[static_cast<std::size_t>(i)];
      if (target < 0) {
        chosen = i;
        break;
      }
    }
  }

  // Lloyd iterations.
  result.assignment.assign(static_cast<std::size_t>(n), -1);
  std::vector<std::int32_t> nearest(static_cast<std::size_t>(n));
  std::vector<double> distance(static_cast<std::size_t>(n));
  std::vector<double> sums(static_cast<std::size_t>(k * d));
  std::vector<std::int64_t> sizes(static_cast<std::size_t>(k));
  for (std::int64_t iteration = 1; iteration <= max_iterations; ++iteration) {
    assign(x, n, centroids, k, d, nearest, distance);
    const bool changed = nearest != result.assignment;
    result.assignment = nearest;
    result.iterations = iteration;
    if (!changed) break;
    std::fill(sums.begin(), sums.end(), 0.0);
    std::fill(sizes.begin(), sizes.end(), 0);
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t c = nearest[static_cast<std::size_t>(i)];
      ++sizes[static_cast<std::size_t>(c)];
      for (std::int64_t j = 0; j < d; ++j) sums[static_cast<std::size_t>(c * d + j)] += x[i * d + j];
    }
    for (std::int64_t c = 0; c < k; ++c) {
      if (sizes[static_cast<std::size_t>(c)] > 0) {
        for (std::int64_t j = 0; j < d; ++j) {
          centroids[c * d + j] = static_cast<float>(sums[static_cast<std::size_t>(c * d + j)] /
                                                    static_cast<double>(sizes[static_cast<std::size_t>(c)]));
        }
        continue;
      }
      // A dead code: move it onto the point its centroid explains worst, and stop that point counting again.
      const auto worst =
          static_cast<std::int64_t>(std::max_element(distance.begin(), distance.end()) - distance.begin());
      std::copy(x + worst * d, x + (worst + 1) * d, centroids + c * d);
      distance[static_cast<std::size_t>(worst)] = -1;
    }
  }
  assign(x, n, centroids, k, d, nearest, distance);
  result.assignment = nearest;
  result.inertia = 0;
  for (double v : distance) result.inertia += v;
  return result;
}

ResidualQuantization rq_kmeans(const Tensor& item_features, const RqKMeansOptions& options) {
  const Tensor features = contiguous_f32(item_features, "rq_kmeans: item_features");
  const std::int64_t items = features.size(0) - 1, d = features.size(1);
  RG_CHECK(items >= 1, "rq_kmeans: no items (item_features has ", features.size(0), " rows, row 0 is padding)");
  RG_CHECK(options.levels >= 1 && options.levels <= 8, "rq_kmeans: levels must be in 1..8, got ", options.levels);
  RG_CHECK(options.codebook_size >= 1 && options.codebook_size <= kMaxSemanticCode,
           "rq_kmeans: codebook_size must be in 1..", kMaxSemanticCode, ", got ", options.codebook_size);
  const std::int64_t k = std::min(options.codebook_size, items);

  ResidualQuantization out;
  out.ids.num_items = items;
  out.ids.codebook_sizes.assign(static_cast<std::size_t>(options.levels), k);
  out.ids.codes.assign(static_cast<std::size_t>((items + 1) * options.levels), 0);
  // residual [items, D]: the item rows of the features (row 0 dropped)
  Tensor residual = zeros({items, d});
  float* r = residual.data<float>();
  std::copy(features.data<float>() + d, features.data<float>() + (items + 1) * d, r);
  for (std::int64_t i = 0; i < items * d; ++i) out.mean_feature_norm2 += static_cast<double>(r[i]) * r[i];
  out.mean_feature_norm2 /= static_cast<double>(items);

  for (std::int64_t level = 0; level < options.levels; ++level) {
    const KMeansResult clusters =
        kmeans(residual, k, options.max_iterations, options.seed + static_cast<std::uint64_t>(level));
    const float* centroids = clusters.centroids.data<float>();
    double norm2 = 0;
    for (std::int64_t i = 0; i < items; ++i) {
      const std::int32_t code = clusters.assignment[static_cast<std::size_t>(i)];
      out.ids.codes[static_cast<std::size_t>((i + 1) * options.levels + level)] = code;
      for (std::int64_t j = 0; j < d; ++j) {
        r[i * d + j] -= centroids[code * d + j];
        norm2 += static_cast<double>(r[i * d + j]) * r[i * d + j];
      }
    }
    out.mean_residual_norm2.push_back(norm2 / static_cast<double>(items));
    out.codebooks.push_back(clusters.centroids);
  }
  return out;
}

}  // namespace recgrad::recsys
