// Learning-rate schedules as plain functions of the step. Each returns a
// factor that multiplies the base learning rate, with the definitions of the
// Hugging Face `transformers` schedules (get_*_schedule_with_warmup), which
// torch.optim.lr_scheduler.LambdaLR evaluates: `step` is the number of
// optimizer steps already taken (0 before the first), so during warmup the
// first step uses factor 0. `warmup` = 0 means no warmup.
//
//   for (int64 step = 0; step < total; ++step) {
//     set_lr_factor(opt, cosine_schedule(step, 100, total));
//     ... backward ...; opt.step();
//   }
#pragma once

#include <cstdint>

namespace recgrad {

class Optimizer;

/// 1 at every step (get_constant_schedule).
double constant_schedule(std::int64_t step);

/// Linear warmup, then constant (get_constant_schedule_with_warmup):
///   step < warmup:  step / warmup
///   otherwise:      1
double linear_warmup_schedule(std::int64_t step, std::int64_t warmup);

/// Linear warmup, then a half cosine from 1 down to min_lr_ratio at step
/// `total` (get_cosine_with_min_lr_schedule_with_warmup, one half-cycle;
/// min_lr_ratio = 0 is get_cosine_schedule_with_warmup):
///   step < warmup:  step / warmup
///   otherwise:      progress = (step - warmup) / max(1, total - warmup)
///                   cos_factor = 0.5 * (1 + cos(pi * progress))
///                   max(0, cos_factor * (1 - min_lr_ratio) + min_lr_ratio)
/// Past `total` the cosine turns back up, as in transformers; clamp the step if
/// that is not wanted.
double cosine_schedule(std::int64_t step, std::int64_t warmup, std::int64_t total, double min_lr_ratio = 0.0);

/// Linear warmup, then decay with the inverse square root of the step
/// (get_inverse_sqrt_schedule, timescale = warmup, or 10000 without warmup):
///   step < warmup:  step / warmup
///   otherwise:      1 / sqrt((step + timescale - warmup) / timescale)   (= sqrt(warmup / step) with warmup)
double inverse_sqrt_schedule(std::int64_t step, std::int64_t warmup);

/// torch.optim.lr_scheduler.CosineAnnealingLR in closed form, for a group whose lr starts at `base`:
///   lr(t) = eta_min + (base - eta_min) * (1 + cos(pi * t / t_max)) / 2
/// t counts the scheduler's steps (MuonRec steps it once per epoch); the cosine turns back up past t_max, as
/// torch's does. Apply it with Optimizer::set_lr_from_base.
double cosine_annealing_lr(double base, std::int64_t t, std::int64_t t_max, double eta_min);

/// Sets every group's lr to factor * its base learning rate. The base is the
/// group's initial_lr (ParamGroup::initial_lr), which the first call records from
/// its lr (as torch's schedulers do), so repeated calls do not compound.
void set_lr_factor(Optimizer& optimizer, double factor);

}  // namespace recgrad
