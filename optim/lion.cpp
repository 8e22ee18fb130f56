// Lion (see lion.h). On the CPU one loop per parameter does the whole update;
// on CUDA the same update is composed of raw ops.
#include "optim/lion.h"

#include <cmath>
#include <sstream>

#include "autograd/grad_mode.h"
#include "core/cpu/parallel.h"
#include "core/factory.h"
#include "core/ops/binary.h"
#include "core/ops/compare.h"
#include "core/ops/copy.h"

namespace recgrad {

namespace {

struct LionScalars {
  double lr, beta1, beta2, weight_decay;
};

// One Lion update of n contiguous elements.
template <typename T>
void lion_cpu(T* __restrict p, const T* __restrict g, T* __restrict m, std::int64_t n, const LionScalars& s) {
  const T beta1 = static_cast<T>(s.beta1), beta2 = static_cast<T>(s.beta2);
  const T one_minus_beta1 = static_cast<T>(1 - s.beta1), one_minus_beta2 = static_cast<T>(1 - s.beta2);
  const T decay = static_cast<T>(1 - s.lr * s.weight_decay), lr = static_cast<T>(s.lr);
  for (std::int64_t i = 0; i < n; ++i) {
    const T c = beta1 * m[i] + one_minus_beta1 * g[i];       // c = beta1 m + (1 - beta1) g
    const T sign = static_cast<T>((c > T(0)) - (c < T(0)));  // sign(c), 0 at 0
    p[i] = p[i] * decay - lr * sign;                         // p = p (1 - lr wd) - lr sign(c)
    m[i] = beta2 * m[i] + one_minus_beta2 * g[i];            // m = beta2 m + (1 - beta2) g
  }
}

// The same update from raw ops (any device).
void lion_composed(const Tensor& param, const Tensor& grad, const Tensor& m, const LionScalars& s) {
  const Tensor c = raw::clone(m);
  raw::mul_(c, s.beta1);
  raw::add_(c, grad, 1 - s.beta1);
  const Tensor sign =
      raw::sub(raw::to_dtype(raw::gt(c, 0.0), param.dtype()), raw::to_dtype(raw::lt(c, 0.0), param.dtype()));
  if (s.weight_decay != 0) raw::mul_(param, 1 - s.lr * s.weight_decay);
  raw::add_(param, sign, -s.lr);
  raw::mul_(m, s.beta2);
  raw::add_(m, grad, 1 - s.beta2);
}

}  // namespace

std::map<std::string, double> LionOptions::to_map() const {
  return {{"lr", lr}, {"beta1", beta1}, {"beta2", beta2}, {"weight_decay", weight_decay}};
}

Lion::Lion(std::vector<Tensor> params, LionOptions options) : Lion({ParamGroup{std::move(params), {}, {}}}, options) {}

Lion::Lion(std::vector<ParamGroup> groups, LionOptions defaults) : Optimizer("Lion", defaults.to_map(), {"exp_avg"}) {
  for (ParamGroup& group : groups) add_param_group(std::move(group));
}

void Lion::check_options(const ParamGroup& group, std::size_t g) const {
  check_option_range(name(), g, "lr", group.option("lr"), 0, INFINITY, false);
  check_option_range(name(), g, "beta1", group.option("beta1"), 0, 1, true);
  check_option_range(name(), g, "beta2", group.option("beta2"), 0, 1, true);
  check_option_range(name(), g, "weight_decay", group.option("weight_decay"), 0, INFINITY, false);
}

void Lion::step() {
  NoGradGuard no_grad;
  const std::vector<ParamGroup>& groups = param_groups();
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const ParamGroup& group = groups[g];
    const LionScalars scalars{group.option("lr"), group.option("beta1"), group.option("beta2"),
                              group.option("weight_decay")};
    for (std::size_t i = 0; i < group.params.size(); ++i) {
      const Tensor& param = group.params[i];
      if (!param.grad().defined()) continue;
      check_devices(param, param.grad(), find_state(param), g, i);
      const Tensor grad = raw::contiguous(param.grad());
      ParamState& state = this->state(param);
      if (state.step == 0) state.buffers["exp_avg"] = zeros_like(param);
      const Tensor& exp_avg = buffer(state, "exp_avg", g, i);
      state.step += 1;
      if (param.device().is_cpu()) {
        visit_floating(param.dtype(), "Lion.step", [&]<typename T>(T) {
          T* p = param.data<T>();
          const T* gr = grad.data<T>();
          T* m = exp_avg.data<T>();
          cpu::parallel_for(param.numel(), 8, [&](std::int64_t begin, std::int64_t end) {
            lion_cpu<T>(p + begin, gr + begin, m + begin, end - begin, scalars);
          });
        });
      } else {
        lion_composed(param, grad, exp_avg, scalars);
      }
      param.bump_version();
    }
  }
}

std::string Lion::describe() const {
  std::ostringstream out;
  for (std::size_t g = 0; g < param_groups().size(); ++g) {
    const ParamGroup& group = param_groups()[g];
    out << name() << " group " << g << " (" << group.params.size() << " params): lr=" << group.option("lr")
        << " beta1=" << group.option("beta1") << " beta2=" << group.option("beta2")
        << " weight_decay=" << group.option("weight_decay") << "\n";
  }
  return out.str();
}

}  // namespace recgrad
