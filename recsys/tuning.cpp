#include "recsys/tuning.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <vector>

namespace recgrad::recsys {
namespace {

/// `value` with 3 significant digits (3 x 0.009 is 0.027, not 0.027000000000000003).
double round3(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", value);
  return std::strtod(text, nullptr);
}

}  // namespace

std::string exact_text(double value) {
  char text[32];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, value);
    if (std::strtod(text, nullptr) == value) break;
  }
  return text;
}

std::string overrides_text(const OptimizerOverrides& point) {
  std::string text;
  const auto add = [&](const char* name, const std::optional<double>& value) {
    if (value) text += (text.empty() ? "" : " ") + std::string(name) + "=" + exact_text(*value);
  };
  add("lr", point.lr);
  add("adamw_lr", point.adamw_lr);
  add("wd", point.weight_decay);
  return text;
}

TuningOutcome tune_coordinatewise(const OptimizerOverrides& start,
                                  const std::function<double(const OptimizerOverrides&)>& score) {
  OptimizerOverrides best = start;
  std::vector<std::string> unbracketed;
  std::map<std::string, double> scored;  // each distinct point once
  const auto score_of = [&](const OptimizerOverrides& point) {
    const std::string key = overrides_text(point);
    const auto found = scored.find(key);
    return found != scored.end() ? found->second : (scored[key] = score(point));
  };
  // one axis: `values` (ascending) of `axis`, extended at the edge the winner sits on
  const auto search = [&](const char* name, std::optional<double> OptimizerOverrides::*axis, std::vector<double> values,
                          double factor, bool extend_down) {
    for (int extension = 0;; ++extension) {
      std::size_t winner = 0;
      double winner_score = 0.0;
      for (std::size_t i = 0; i < values.size(); ++i) {
        OptimizerOverrides point = best;
        point.*axis = values[i];
        const double value = score_of(point);
        if (i == 0 || value > winner_score) winner_score = value, winner = i;
      }
      best.*axis = values[winner];
      const bool on_upper_edge = winner + 1 == values.size();
      const bool on_lower_edge = winner == 0 && extend_down && values.front() > 0;
      if (!on_upper_edge && !on_lower_edge) return;  // bracketed
      if (extension == 4) {
        unbracketed.push_back(name);
        return;
      }
      if (on_upper_edge) {
        values.push_back(round3(values.back() * factor));
      } else {
        values.insert(values.begin(), round3(values.front() / factor));
      }
    }
  };
  const auto around = [](double x) { return std::vector<double>{round3(x / 3), x, round3(x * 3)}; };
  if (best.lr) search("lr", &OptimizerOverrides::lr, around(*best.lr), 3.0, true);
  if (best.adamw_lr) search("adamw_lr", &OptimizerOverrides::adamw_lr, around(*best.adamw_lr), 3.0, true);
  if (best.weight_decay) search("wd", &OptimizerOverrides::weight_decay, {0.0, 1e-4, 1e-3, 1e-2}, 10.0, false);
  return {best, unbracketed};
}

}  // namespace recgrad::recsys
