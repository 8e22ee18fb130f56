// SGD with momentum, torch.optim.SGD step for step. For a parameter p with gradient g:
//   g = g + wd * p;   buf = g (first step) or momentum * buf + (1 - dampening) * g
//   p = p - lr * (nesterov ? g + momentum * buf : buf)        (no buffer when momentum = 0)
// sgd_cpu is that update on a run of elements; SGD::step walks the parameters.
#include "optim/sgd.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "core/cpu/parallel.h"
#include "core/factory.h"
#include "core/ops/copy.h"

#if RECGRAD_WITH_CUDA
#include "core/cuda/optim_step.h"
#endif

namespace recgrad {

namespace {

struct SGDScalars {
  double lr, momentum, dampening, weight_decay;
  bool nesterov;
  bool first_step;  // the momentum buffer is set to g instead of decayed
};

// One SGD update of n contiguous elements, in the order of torch's
// _single_tensor_sgd. `buf` is null when momentum is 0.
template <typename T>
void sgd_cpu(T* p, const T* grad, T* buf, std::int64_t n, const SGDScalars& s) {
  const T weight_decay = static_cast<T>(s.weight_decay), momentum = static_cast<T>(s.momentum);
  const T one_minus_dampening = static_cast<T>(1 - s.dampening), neg_lr = static_cast<T>(-s.lr);
  cpu::parallel_for(n, 8, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      T d = s.weight_decay != 0 ? grad[i] + weight_decay * p[i] : grad[i];  // d_p = d_p.add(p, alpha=wd)
      if (buf != nullptr) {
        if (s.first_step) {
          buf[i] = d;  // buf = torch.clone(d_p)
        } else {
          buf[i] = buf[i] * momentum + one_minus_dampening * d;  // buf.mul_(momentum).add_(d_p, alpha=1-dampening)
        }
        d = s.nesterov ? d + momentum * buf[i] : buf[i];  // d_p = d_p.add(buf, alpha=momentum) or buf
      }
      p[i] = p[i] + neg_lr * d;  // param.add_(d_p, alpha=-lr)
    }
  });
}

}  // namespace

std::map<std::string, double> SGDOptions::to_map() const {
  return {{"lr", lr},
          {"momentum", momentum},
          {"dampening", dampening},
          {"weight_decay", weight_decay},
          {"nesterov", nesterov ? 1.0 : 0.0}};
}

SGD::SGD(std::vector<Tensor> params, SGDOptions options) : SGD({ParamGroup{std::move(params), {}, {}}}, options) {}

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions defaults)
    : Optimizer("SGD", defaults.to_map(), {"momentum_buffer"}) {
  for (ParamGroup& group : groups) add_param_group(std::move(group));
}

void SGD::check_options(const ParamGroup& group, std::size_t g) const {
  check_option_range(name(), g, "lr", group.option("lr"), 0, INFINITY, false);
  check_option_range(name(), g, "momentum", group.option("momentum"), 0, INFINITY, false);
  check_option_range(name(), g, "dampening", group.option("dampening"), -INFINITY, INFINITY, false);
  check_option_range(name(), g, "weight_decay", group.option("weight_decay"), 0, INFINITY, false);
  check_option_range(name(), g, "nesterov", group.option("nesterov"), 0, 1, true);
  RG_CHECK(group.option("nesterov") == 0 || (group.option("momentum") > 0 && group.option("dampening") == 0), name(),
           ": Nesterov momentum requires momentum > 0 and dampening = 0 (param group ", g, " has momentum ",
           group.option("momentum"), ", dampening ", group.option("dampening"), ")");
}

void SGD::step() {
  NoGradGuard no_grad;
  const std::vector<ParamGroup>& groups = param_groups();
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const ParamGroup& group = groups[g];
    const double lr = group.option("lr"), momentum = group.option("momentum");
    const double dampening = group.option("dampening"), weight_decay = group.option("weight_decay");
    const bool nesterov = group.option("nesterov") != 0;
    for (std::size_t i = 0; i < group.params.size(); ++i) {
      const Tensor& param = group.params[i];
      if (!param.grad().defined()) continue;
      check_devices(param, param.grad(), find_state(param), g, i);
      const Tensor grad = raw::contiguous(param.grad());
      ParamState& state = this->state(param);

      Tensor momentum_buffer;
      bool first_step = false;
      if (momentum != 0) {
        Tensor& buf = state.buffers["momentum_buffer"];
        first_step = !buf.defined();  // as torch: the buffer is created from the first gradient
        // The CUDA kernel reads every array it writes: zeros there, not uninitialised memory.
        if (first_step) buf = param.device().is_cpu() ? empty_like(param) : zeros_like(param);
        momentum_buffer = buf;
      }
      state.step += 1;
      const SGDScalars scalars{lr, momentum, dampening, weight_decay, nesterov, first_step};

      switch (param.device().type) {
        case DeviceType::CPU:
          visit_floating(param.dtype(), "SGD.step", [&]<typename T>(T) {
            sgd_cpu<T>(param.data<T>(), grad.data<T>(), momentum != 0 ? momentum_buffer.data<T>() : nullptr,
                       param.numel(), scalars);
          });
          break;
        case DeviceType::CUDA:
#if RECGRAD_WITH_CUDA
          cuda::sgd_step(param, grad, momentum_buffer,
                         {.lr = lr,
                          .momentum = momentum,
                          .dampening = dampening,
                          .weight_decay = weight_decay,
                          .nesterov = nesterov,
                          .first_step = first_step});
          break;
#else
          throw_no_kernel(name(), param_key(g, i), param.device());
#endif
      }
      param.bump_version();
    }
  }
}

}  // namespace recgrad
