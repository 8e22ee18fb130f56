// Dense item features computed from item text, the input of our own semantic IDs (recsys/generative/rq_kmeans.h,
// rq_vae.h). TIGER encodes title, brand and category with Sentence-T5 and MiniOneRec with Qwen3-Embedding; neither
// encoder is available here, so this is the classical content representation instead:
//
//   text(i)   = title + " " + description + " " + brand + " " + categories, lower-cased
//   terms     = maximal runs of [a-z0-9] (ASCII letters and digits; every other byte separates terms)
//   vocabulary= the terms that occur in at least min_document_frequency items (and in at most
//               max_document_share of them: words like "the" carry no information), ordered by term
//   tf-idf    = (1 + ln tf(i, t)) * idf(t),  idf(t) = ln((1 + N) / (1 + df(t))) + 1   (sublinear tf, smoothed idf,
//               as scikit-learn's TfidfVectorizer(sublinear_tf=True))
//   x_i       = tfidf_i / ||tfidf_i||_2                                            (an item without terms: 0)
//   feature_i = x_i R / ||x_i R||_2,  R [V, dim] with entries N(0, 1/dim) from a seeded stream (Johnson-
//               Lindenstrauss: inner products of the sparse vectors are kept up to O(1/sqrt(dim)))
//
// Deterministic for a given seed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "datasets/sequence_dataset.h"

namespace recgrad::datasets {

struct ItemTextFeatureOptions {
  std::int64_t min_document_frequency = 2;  // a term must occur in at least this many items
  double max_document_share = 0.5;          // ... and in at most this share of them
  std::int64_t dim = 256;                   // the projected dimension
  std::uint64_t seed = 0;                   // the projection's stream
};

/// What the features were built from, for the report.
struct ItemTextFeatureSummary {
  std::int64_t vocabulary = 0;          // terms kept
  std::int64_t items_without_text = 0;  // items whose text has no kept term (their feature is 0)
  double mean_terms_per_item = 0;       // distinct kept terms per item
};

/// The terms of `text` (see the top of this file), in order, with repeats.
std::vector<std::string> text_terms(const std::string& text);

/// Features [num_items + 1, dim] f32 of the dataset's items (row = item id; row 0, padding, is 0). Throws when the
/// catalogue has no text at all (no item has a kept term), naming the dataset: semantic IDs from text need text.
Tensor item_text_features(const SequenceDataset& data, const ItemTextFeatureOptions& options = {},
                          ItemTextFeatureSummary* summary = nullptr);

}  // namespace recgrad::datasets
