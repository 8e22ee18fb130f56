#include "recsys/metrics_json.h"

#include <algorithm>
#include <string>

namespace recgrad::recsys {

nlohmann::json metrics_to_json(const RankingMetrics& m) {
  nlohmann::json j{{"rows", m.rows}, {"mrr", m.mrr}};
  for (const MetricsAtK& k : m.at_k)
    j["at"][std::to_string(k.k)] = {{"recall", k.recall}, {"ndcg", k.ndcg}, {"mrr", k.mrr}};
  return j;
}

RankingMetrics metrics_from_json(const nlohmann::json& j) {
  RankingMetrics m;
  m.rows = j.at("rows").get<std::int64_t>();
  m.mrr = j.at("mrr").get<double>();
  if (j.contains("at")) {
    for (const auto& [k, v] : j.at("at").items()) {
      m.at_k.push_back(
          {std::stoll(k), v.at("recall").get<double>(), v.at("ndcg").get<double>(), v.at("mrr").get<double>()});
    }
    std::sort(m.at_k.begin(), m.at_k.end(), [](const MetricsAtK& a, const MetricsAtK& b) { return a.k < b.k; });
  }
  return m;
}

}  // namespace recgrad::recsys
