// Ranking metrics as JSON, the form checkpoints store them in (recsys/trainer.h, recsys/generative/grpo_stage.h):
//
//   {"rows": 1000, "mrr": 0.05, "at": {"10": {"recall": 0.1, "ndcg": 0.06, "mrr": 0.05}, ...}}
#pragma once

#include <nlohmann/json.hpp>

#include "recsys/metrics.h"

namespace recgrad::recsys {

/// `m` as the JSON above.
nlohmann::json metrics_to_json(const RankingMetrics& m);

/// The metrics metrics_to_json wrote (cut-offs in increasing order); throws nlohmann::json's exceptions on a
/// missing or mistyped field.
RankingMetrics metrics_from_json(const nlohmann::json& j);

}  // namespace recgrad::recsys
