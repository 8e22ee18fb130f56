#include "datasets/item_text_features.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numbers>
#include <unordered_map>

#include "core/error.h"
#include "core/factory.h"
#include "core/host_random.h"

namespace recgrad::datasets {

std::vector<std::string> text_terms(const std::string& text) {
  std::vector<std::string> terms;
  std::string current;
  for (const char raw : text) {
    const char c = (raw >= 'A' && raw <= 'Z') ? static_cast<char>(raw - 'A' + 'a') : raw;
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      current += c;
    } else if (!current.empty()) {
      terms.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) terms.push_back(std::move(current));
  return terms;
}

Tensor item_text_features(const SequenceDataset& data, const ItemTextFeatureOptions& options,
                          ItemTextFeatureSummary* summary) {
  RG_CHECK(options.min_document_frequency >= 1, "item_text_features: min_document_frequency must be >= 1, got ",
           options.min_document_frequency);
  RG_CHECK(options.max_document_share > 0 && options.max_document_share <= 1,
           "item_text_features: max_document_share must be in (0, 1], got ", options.max_document_share);
  RG_CHECK(options.dim >= 1 && options.dim <= 65536, "item_text_features: dim must be in 1..65536, got ", options.dim);
  const auto n = static_cast<std::size_t>(data.num_items);
  RG_CHECK(n >= 1 && data.items.size() == n + 1, "item_text_features: dataset ", data.name,
           " has no catalogue (num_items ", data.num_items, ", ", data.items.size(), " item entries)");

  // Term counts per item, and document frequencies.
  std::vector<std::map<std::string, std::int64_t>> counts(n + 1);
  std::map<std::string, std::int64_t> document_frequency;
  for (std::size_t item = 1; item <= n; ++item) {
    const ItemInfo& info = data.items[item];
    std::string text = info.title;
    for (const std::string* field : {&info.description, &info.brand, &info.categories}) text.append(" ").append(*field);
    for (std::string& term : text_terms(text)) {
      ++counts[item][std::move(term)];
    }
    for (const auto& [term, count] : counts[item]) ++document_frequency[term];
  }
  const auto max_documents = static_cast<std::int64_t>(std::floor(options.max_document_share * static_cast<double>(n)));
  std::unordered_map<std::string, std::int64_t> column;  // kept term -> its row of the projection
  std::vector<double> idf;
  for (const auto& [term, df] : document_frequency) {
    if (df < options.min_document_frequency || df > std::max<std::int64_t>(max_documents, 1)) continue;
    column.emplace(term, static_cast<std::int64_t>(idf.size()));
    idf.push_back(std::log((1.0 + static_cast<double>(n)) / (1.0 + static_cast<double>(df))) + 1.0);
  }
  RG_CHECK(!idf.empty(), "item_text_features: no term of dataset ", data.name, " occurs in at least ",
           options.min_document_frequency, " items (of ", n,
           "); semantic IDs from item text need item titles or descriptions");

  // The projection R [V, dim], N(0, 1/dim), drawn row by row from the seeded host stream (Box-Muller).
  const auto vocabulary = static_cast<std::int64_t>(idf.size());
  const std::int64_t dim = options.dim;
  std::vector<float> projection(static_cast<std::size_t>(vocabulary * dim));
  HostRandom random(options.seed, /*stream=*/0x7465787466ULL);  // "textf"
  const double sigma = 1.0 / std::sqrt(static_cast<double>(dim));
  for (float& value : projection) {
    const double radius = std::sqrt(-2.0 * std::log(random.uniform_positive()));
    value = static_cast<float>(sigma * radius * std::cos(2.0 * std::numbers::pi * random.uniform()));
  }

  Tensor features = zeros({static_cast<std::int64_t>(n) + 1, dim});
  float* out = features.data<float>();
  std::int64_t without_text = 0, term_total = 0;
  std::vector<double> row(static_cast<std::size_t>(dim));
  for (std::size_t item = 1; item <= n; ++item) {
    std::vector<std::pair<std::int64_t, double>> weights;  // (column, tf-idf)
    double norm2 = 0;
    for (const auto& [term, count] : counts[item]) {
      const auto found = column.find(term);
      if (found == column.end()) continue;
      const double w = (1.0 + std::log(static_cast<double>(count))) * idf[static_cast<std::size_t>(found->second)];
      weights.emplace_back(found->second, w);
      norm2 += w * w;
    }
    term_total += static_cast<std::int64_t>(weights.size());
    if (weights.empty()) {
      ++without_text;
      continue;
    }
    std::fill(row.begin(), row.end(), 0.0);
    for (const auto& [c, w] : weights) {
      const float* r = projection.data() + c * dim;
      const double scaled = w / std::sqrt(norm2);
      for (std::int64_t d = 0; d < dim; ++d) row[static_cast<std::size_t>(d)] += scaled * r[d];
    }
    double projected2 = 0;
    for (double v : row) projected2 += v * v;
    const double inverse = projected2 > 0 ? 1.0 / std::sqrt(projected2) : 0.0;
    for (std::int64_t d = 0; d < dim; ++d) {
      out[static_cast<std::int64_t>(item) * dim + d] = static_cast<float>(row[static_cast<std::size_t>(d)] * inverse);
    }
  }
  if (summary != nullptr) {
    summary->vocabulary = vocabulary;
    summary->items_without_text = without_text;
    summary->mean_terms_per_item = static_cast<double>(term_total) / static_cast<double>(n);
  }
  return features;
}

}  // namespace recgrad::datasets
