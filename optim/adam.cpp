// Adam and AdamW (see adam.h). step() computes the per-step scalars of each
// parameter and hands the elementwise update to raw::adam_step, whose CPU loop
// (core/cpu/optim_step.cpp) and CUDA kernel evaluate one torch op per line, in
// torch's order and the parameter's precision.
#include "optim/adam.h"

#include <cmath>

#include "core/factory.h"
#include "core/ops/optim_step.h"

namespace recgrad {

template <bool kDecoupled>
BasicAdam<kDecoupled>::BasicAdam(std::vector<Tensor> params, Options options)
    : BasicAdam({Group{std::move(params), {}, options}}) {}

template <bool kDecoupled>
BasicAdam<kDecoupled>::BasicAdam(std::vector<Group> groups)
    : TypedOptimizer<Options>(kDecoupled ? "AdamW" : "Adam",
                              std::vector<std::string>{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}) {
  for (Group& group : groups) this->add_param_group(std::move(group));
}

template <bool kDecoupled>
void BasicAdam<kDecoupled>::check_options(const Options& o, std::size_t g) const {
  check_option_range(this->name(), g, "lr", o.lr, 0, INFINITY, false);
  check_option_range(this->name(), g, "beta1", o.beta1, 0, 1, false);
  check_option_range(this->name(), g, "beta2", o.beta2, 0, 1, false);
  check_option_range(this->name(), g, "eps", o.eps, 0, INFINITY, false);
  check_option_range(this->name(), g, "weight_decay", o.weight_decay, 0, INFINITY, false);
}

template <bool kDecoupled>
void BasicAdam<kDecoupled>::step() {
  this->for_each_param([&](const Options& o, typename Optimizer::ParamStep& p) {
    ParamState& state = p.state;
    if (state.step == 0) {  // first update: m = v = 0
      state.buffers["exp_avg"] = zeros_like(p.param);
      state.buffers["exp_avg_sq"] = zeros_like(p.param);
    }
    if (o.amsgrad && !state.buffers.count("max_exp_avg_sq")) state.buffers["max_exp_avg_sq"] = zeros_like(p.param);
    const Tensor& exp_avg = this->buffer(state, "exp_avg", p.group, p.index);
    const Tensor& exp_avg_sq = this->buffer(state, "exp_avg_sq", p.group, p.index);
    const Tensor max_exp_avg_sq = o.amsgrad ? this->buffer(state, "max_exp_avg_sq", p.group, p.index) : Tensor();

    state.step += 1;
    const double t = static_cast<double>(state.step);
    const double bias_correction1 = 1 - std::pow(o.beta1, t);
    const double bias_correction2 = 1 - std::pow(o.beta2, t);
    raw::AdamStepScalars scalars{.decoupled = kDecoupled,
                                 .beta1 = o.beta1,
                                 .beta2 = o.beta2,
                                 .bias_correction2_sqrt = std::sqrt(bias_correction2),
                                 .eps = o.eps,
                                 .neg_step_size = -(o.lr / bias_correction1)};
    if constexpr (kDecoupled) {
      scalars.decay = 1 - o.lr * o.weight_decay;  // p = p * (1 - lr * wd)
    } else {
      scalars.weight_decay = o.weight_decay;  // g = g + wd * p
    }
    raw::adam_step(p.param, p.grad, exp_avg, exp_avg_sq, max_exp_avg_sq, scalars);
  });
}

template class BasicAdam<false>;
template class BasicAdam<true>;

}  // namespace recgrad
