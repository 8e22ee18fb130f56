// Lion (see lion.h). Lion::step walks the parameters; raw::lion_step (core/ops/optim_step.h) is the update on
// one of them: one loop on the CPU, composed of raw ops on CUDA.
#include "optim/lion.h"

#include <cmath>

#include "core/factory.h"
#include "core/ops/optim_step.h"

namespace recgrad {

Lion::Lion(std::vector<Tensor> params, LionOptions options) : Lion({Group{std::move(params), {}, options}}) {}

Lion::Lion(std::vector<Group> groups) : TypedOptimizer("Lion", std::vector<std::string>{"exp_avg"}) {
  for (Group& group : groups) add_param_group(std::move(group));
}

void Lion::check_options(const LionOptions& o, std::size_t g) const {
  check_option_range(name(), g, "lr", o.lr, 0, INFINITY, false);
  check_option_range(name(), g, "beta1", o.beta1, 0, 1, true);
  check_option_range(name(), g, "beta2", o.beta2, 0, 1, true);
  check_option_range(name(), g, "weight_decay", o.weight_decay, 0, INFINITY, false);
}

void Lion::step() {
  for_each_param([&](const LionOptions& o, ParamStep& p) {
    if (p.state.step == 0) p.state.buffers["exp_avg"] = zeros_like(p.param);
    const Tensor& exp_avg = buffer(p.state, "exp_avg", p.group, p.index);
    p.state.step += 1;
    raw::lion_step(p.param, p.grad, exp_avg,
                   {.lr = o.lr, .beta1 = o.beta1, .beta2 = o.beta2, .weight_decay = o.weight_decay});
  });
}

}  // namespace recgrad
