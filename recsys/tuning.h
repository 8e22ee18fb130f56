// The hyperparameter search of `recbench --protocol tuned`: coordinate-wise on log grids, one hyperparameter
// after another from the optimizer's own settings (OptimizerEntry::defaults).
//
//   a learning rate (lr, then adamw_lr when the optimizer has one) tries {x/3, x, 3x} around the current best
//   and extends the grid by factors of 3 while the winner sits on an edge, so the chosen value is always
//   bracketed by two tried values that scored lower (at most 4 extensions per axis);
//   the weight decay tries {0, 1e-4, 1e-3, 1e-2} and extends upwards by factors of 10 likewise (0 is its
//   natural lower edge).
// A winner still on an edge after the 4 extensions is kept and reported as unbracketed.
// Grid values keep 3 significant digits. Each new point is scored once (by the caller: recbench averages the
// best validation NDCG over tuning seeds); ties keep the earlier point.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "recsys/training_optimizer.h"

namespace recgrad::recsys {

/// What the search chose, and the axes ("lr", "adamw_lr", "wd") whose winner still sat on the grid's edge after
/// the 4 extensions: there the grid does not bracket the winner, and the report says so.
struct TuningOutcome {
  OptimizerOverrides best;
  std::vector<std::string> unbracketed;
};

/// The best point found from `start` (its set fields are the axes searched); `score` is called once per
/// distinct point, higher is better.
TuningOutcome tune_coordinatewise(const OptimizerOverrides& start,
                                  const std::function<double(const OptimizerOverrides&)>& score);

/// The shortest "%.Ng" text of `value` that reads back to the same double (0.02 -> "0.02", 1e-7 -> "1e-07").
std::string exact_text(double value);

/// "lr=0.02 adamw_lr=0.01 wd=0": the set fields of `point`, each as the shortest text that reads back exactly.
std::string overrides_text(const OptimizerOverrides& point);

}  // namespace recgrad::recsys
