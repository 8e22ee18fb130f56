// Semantic IDs computed from item text: the text features (datasets/item_text_features.h) and residual
// quantization by k-means (recsys/generative/rq_kmeans.h) on small hand-made data: known clusters are recovered,
// residuals shrink level by level, dead codes are reset, everything is seeded.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "datasets/item_text_features.h"
#include "recgrad.h"
#include "recsys/generative/rq_kmeans.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::recsys;
using recgrad::testing::expect_error;

namespace {

datasets::SequenceDataset titled(const std::vector<std::string>& titles) {
  datasets::SequenceDataset data;
  data.name = "titled";
  data.num_items = static_cast<std::int32_t>(titles.size());
  data.items.resize(titles.size() + 1);
  for (std::size_t i = 0; i < titles.size(); ++i) data.items[i + 1].title = titles[i];
  return data;
}

double dot(const Tensor& features, std::int64_t a, std::int64_t b) {
  const std::int64_t d = features.size(1);
  const float* x = features.data<float>();
  double sum = 0;
  for (std::int64_t j = 0; j < d; ++j) sum += static_cast<double>(x[a * d + j]) * x[b * d + j];
  return sum;
}

// Points [n, 2] around `centers`, point i in cluster i % centers.size(), with a deterministic wobble.
Tensor blobs(const std::vector<std::pair<float, float>>& centers, std::int64_t n, float spread) {
  Tensor points = zeros({n, 2});
  float* p = points.data<float>();
  for (std::int64_t i = 0; i < n; ++i) {
    const auto& [x, y] = centers[static_cast<std::size_t>(i) % centers.size()];
    p[2 * i] = x + spread * std::sin(static_cast<float>(i) * 1.7f);
    p[2 * i + 1] = y + spread * std::cos(static_cast<float>(i) * 2.3f);
  }
  return points;
}

}  // namespace

TEST(ItemTextFeatures, TermsAreLowerCasedAlphanumericRuns) {
  EXPECT_EQ(datasets::text_terms("Hello, World! 3M-tape  x"),
            (std::vector<std::string>{"hello", "world", "3m", "tape", "x"}));
  EXPECT_TRUE(datasets::text_terms("  --  ").empty());
}

TEST(ItemTextFeatures, SimilarTextsAreCloseAndFeaturesAreUnitVectors) {
  const auto data = titled({"steel fender washer kit", "steel fender washer set", "silicone kitchen sealant clear",
                            "silicone bath sealant clear", "steel washer", "unique words only here"});
  datasets::ItemTextFeatureSummary summary;
  const Tensor f = datasets::item_text_features(data, {.min_document_frequency = 2, .dim = 64, .seed = 3}, &summary);
  EXPECT_EQ(f.shape(), Shape({7, 64}));
  EXPECT_EQ(dot(f, 0, 0), 0.0);  // padding row
  for (std::int64_t i = 1; i <= 5; ++i) EXPECT_NEAR(dot(f, i, i), 1.0, 1e-5);
  EXPECT_EQ(summary.items_without_text, 1);  // item 6 has no term shared with another item
  EXPECT_EQ(dot(f, 6, 6), 0.0);
  EXPECT_GT(dot(f, 1, 2), dot(f, 1, 3) + 0.3);  // washers resemble washers more than sealants
  EXPECT_GT(dot(f, 3, 4), dot(f, 3, 1) + 0.3);
  // seeded: the same features again, others with another seed
  const Tensor again = datasets::item_text_features(data, {.min_document_frequency = 2, .dim = 64, .seed = 3});
  EXPECT_EQ(again.to_vector<float>(), f.to_vector<float>());
  const Tensor other = datasets::item_text_features(data, {.min_document_frequency = 2, .dim = 64, .seed = 4});
  EXPECT_NE(other.to_vector<float>(), f.to_vector<float>());
}

TEST(ItemTextFeatures, ACatalogueWithoutTextIsRefused) {
  expect_error(
      [] {
        (void)datasets::item_text_features(titled({"", "", ""}));
      },
      {"dataset titled", "item titles or descriptions"});
  expect_error([] { (void)datasets::item_text_features(titled({"a b", "a b"}), {.dim = 0}); }, {"dim", "got 0"});
}

TEST(KMeans, RecoversSeparatedClusters) {
  const Tensor points = blobs({{0, 0}, {10, 0}, {0, 10}}, 60, 0.5f);
  const KMeansResult result = kmeans(points, 3, 50, 1);
  // Points of one blob share a cluster, and different blobs get different clusters.
  std::map<std::int64_t, std::set<std::int32_t>> clusters_of_blob;
  for (std::int64_t i = 0; i < 60; ++i) clusters_of_blob[i % 3].insert(result.assignment[static_cast<std::size_t>(i)]);
  std::set<std::int32_t> used;
  for (const auto& [blob, clusters] : clusters_of_blob) {
    EXPECT_EQ(clusters.size(), 1u) << "blob " << blob << " was split";
    used.insert(*clusters.begin());
  }
  EXPECT_EQ(used.size(), 3u);
  EXPECT_LT(result.inertia, 60 * 0.5 * 0.5 * 2);
  EXPECT_EQ(nearest_centroids(points, result.centroids), result.assignment);
  // seeded
  EXPECT_EQ(kmeans(points, 3, 50, 1).centroids.to_vector<float>(), result.centroids.to_vector<float>());
}

TEST(KMeans, EveryCodeIsUsedWhenThereAreEnoughDistinctPoints) {
  // 5 distinct points, many duplicates of one: k = 5 must put a centroid on each (dead codes are reset).
  Tensor points = zeros({12, 1});
  float* p = points.data<float>();
  const float values[] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
  std::copy(std::begin(values), std::end(values), p);
  const KMeansResult result = kmeans(points, 5, 100, 0);
  EXPECT_EQ(std::set<std::int32_t>(result.assignment.begin(), result.assignment.end()).size(), 5u);
  EXPECT_NEAR(result.inertia, 0.0, 1e-9);
}

TEST(KMeans, BadArgumentsAreNamed) {
  expect_error([] { (void)kmeans(zeros({3, 2}), 4, 10, 0); }, {"k must be in 1..3", "got 4"});
  expect_error([] { (void)kmeans(zeros({3}), 1, 10, 0); }, {"kmeans: points", "2-D"});
}

TEST(RqKMeans, CoarseCodesFirstAndResidualsShrinkPerLevel) {
  // item = coarse center (4 far apart) + fine offset (3 small, distinct) + a tiny wobble
  const std::vector<std::pair<float, float>> coarse = {{0, 0}, {100, 0}, {0, 100}, {100, 100}};
  const std::vector<std::pair<float, float>> fine = {{0, 0}, {5, 0}, {0, 5}};
  const std::int64_t items = 48;
  Tensor features = zeros({items + 1, 2});
  float* x = features.data<float>();
  for (std::int64_t i = 0; i < items; ++i) {
    const auto& c = coarse[static_cast<std::size_t>(i % 4)];
    const auto& f = fine[static_cast<std::size_t>((i / 4) % 3)];
    x[2 * (i + 1)] = c.first + f.first + 0.01f * static_cast<float>(i % 5);
    x[2 * (i + 1) + 1] = c.second + f.second;
  }
  const ResidualQuantization rq = rq_kmeans(features, {.levels = 3, .codebook_size = 4, .seed = 2});
  ASSERT_EQ(rq.ids.levels(), 3);
  // level a separates the coarse centers exactly
  std::map<std::int64_t, std::set<std::int32_t>> level_a;
  for (std::int64_t i = 0; i < items; ++i) level_a[i % 4].insert(rq.ids.of(static_cast<datasets::ItemId>(i + 1))[0]);
  for (const auto& [center, codes] : level_a) EXPECT_EQ(codes.size(), 1u) << "coarse center " << center;
  // each level explains more: the residual shrinks strictly
  double previous = rq.mean_feature_norm2;
  for (double norm2 : rq.mean_residual_norm2) {
    EXPECT_LT(norm2, previous);
    previous = norm2;
  }
  EXPECT_LT(rq.mean_residual_norm2[1], 0.01 * rq.mean_feature_norm2);
  // (coarse, fine) pairs are 12 distinct groups: two levels tell them apart
  const SemanticIdUsage usage = semantic_id_usage(rq.ids);
  EXPECT_GE(usage.prefixes[1], 12);
}
