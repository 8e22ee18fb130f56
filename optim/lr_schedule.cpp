#include "optim/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.h"
#include "optim/optimizer.h"

namespace recgrad {

namespace {
void check_steps(const char* schedule, std::int64_t step, std::int64_t warmup) {
  RG_CHECK(step >= 0 && warmup >= 0, schedule, ": step (", step, ") and warmup (", warmup, ") must be >= 0");
}

// step / warmup during warmup; the same for every schedule.
double warmup_factor(std::int64_t step, std::int64_t warmup) {
  return static_cast<double>(step) / static_cast<double>(std::max<std::int64_t>(1, warmup));
}
}  // namespace

double constant_schedule(std::int64_t step) {
  RG_CHECK(step >= 0, "constant_schedule: step must be >= 0, got ", step);
  return 1.0;
}

double linear_warmup_schedule(std::int64_t step, std::int64_t warmup) {
  check_steps("linear_warmup_schedule", step, warmup);
  return step < warmup ? warmup_factor(step, warmup) : 1.0;
}

double cosine_schedule(std::int64_t step, std::int64_t warmup, std::int64_t total, double min_lr_ratio) {
  check_steps("cosine_schedule", step, warmup);
  RG_CHECK(total >= warmup, "cosine_schedule: total steps (", total, ") must be >= warmup (", warmup, ")");
  RG_CHECK(min_lr_ratio >= 0 && min_lr_ratio <= 1, "cosine_schedule: min_lr_ratio must be in [0, 1], got ",
           min_lr_ratio);
  if (step < warmup) return warmup_factor(step, warmup);
  const double progress =
      static_cast<double>(step - warmup) / static_cast<double>(std::max<std::int64_t>(1, total - warmup));
  const double cos_factor = 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
  return std::max(0.0, cos_factor * (1.0 - min_lr_ratio) + min_lr_ratio);
}

double inverse_sqrt_schedule(std::int64_t step, std::int64_t warmup) {
  check_steps("inverse_sqrt_schedule", step, warmup);
  if (step < warmup) return warmup_factor(step, warmup);
  const double timescale = warmup > 0 ? static_cast<double>(warmup) : 10000.0;
  return 1.0 / std::sqrt((static_cast<double>(step) + timescale - static_cast<double>(warmup)) / timescale);
}

double cosine_annealing_lr(double base, std::int64_t t, std::int64_t t_max, double eta_min) {
  RG_CHECK(t >= 0 && t_max > 0, "cosine_annealing_lr: needs t >= 0 and t_max > 0, got t = ", t, ", t_max = ", t_max);
  const double pi = std::acos(-1.0);
  return eta_min + (base - eta_min) * (1.0 + std::cos(pi * static_cast<double>(t) / static_cast<double>(t_max))) / 2.0;
}

void set_lr_factor(Optimizer& optimizer, double factor) {
  RG_CHECK(factor >= 0, "set_lr_factor: factor must be >= 0, got ", factor);
  optimizer.set_lr_factor(factor);
}

}  // namespace recgrad
