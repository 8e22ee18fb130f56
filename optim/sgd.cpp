// SGD with momentum, torch.optim.SGD step for step. For a parameter p with gradient g:
//   g = g + wd * p;   buf = g (first step) or momentum * buf + (1 - dampening) * g
//   p = p - lr * (nesterov ? g + momentum * buf : buf)        (no buffer when momentum = 0)
// SGD::step walks the parameters; raw::sgd_step (core/ops/optim_step.h) is that update on one of them.
#include "optim/sgd.h"

#include <cmath>

#include "core/factory.h"
#include "core/ops/optim_step.h"

namespace recgrad {

SGD::SGD(std::vector<Tensor> params, SGDOptions options) : SGD({Group{std::move(params), {}, options}}) {}

SGD::SGD(std::vector<Group> groups) : TypedOptimizer("SGD", std::vector<std::string>{"momentum_buffer"}) {
  for (Group& group : groups) add_param_group(std::move(group));
}

void SGD::check_options(const SGDOptions& o, std::size_t g) const {
  check_option_range(name(), g, "lr", o.lr, 0, INFINITY, false);
  check_option_range(name(), g, "momentum", o.momentum, 0, INFINITY, false);
  check_option_range(name(), g, "dampening", o.dampening, -INFINITY, INFINITY, false);
  check_option_range(name(), g, "weight_decay", o.weight_decay, 0, INFINITY, false);
  RG_CHECK(!o.nesterov || (o.momentum > 0 && o.dampening == 0), name(),
           ": Nesterov momentum requires momentum > 0 and dampening = 0 (param group ", g, " has momentum ", o.momentum,
           ", dampening ", o.dampening, ")");
}

void SGD::step() {
  for_each_param([&](const SGDOptions& o, ParamStep& p) {
    Tensor momentum_buffer;
    bool first_step = false;
    if (o.momentum != 0) {
      Tensor& buf = p.state.buffers["momentum_buffer"];
      first_step = !buf.defined();  // as torch: the buffer is created from the first gradient
      // The CUDA kernel reads every array it writes: zeros there, not uninitialised memory.
      if (first_step) buf = p.param.device().is_cpu() ? empty_like(p.param) : zeros_like(p.param);
      momentum_buffer = buf;
    }
    p.state.step += 1;
    raw::sgd_step(p.param, p.grad, momentum_buffer,
                  {.lr = o.lr,
                   .momentum = o.momentum,
                   .dampening = o.dampening,
                   .weight_decay = o.weight_decay,
                   .nesterov = o.nesterov,
                   .first_step = first_step});
  });
}

}  // namespace recgrad
