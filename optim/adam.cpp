// Adam, torch.optim.Adam step for step. For a parameter p with gradient g, at step t:
//   g = g + wd * p                         m = b1 * m + (1 - b1) * g      v = b2 * v + (1 - b2) * g^2
//   p = p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)       (amsgrad: v -> max over steps of v)
// adam_cpu is that update on a run of elements; Adam::step computes the
// per-step scalars and walks the parameters.
#include "optim/adam.h"

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

// The per-step numbers every element of a parameter shares.
struct AdamScalars {
  double weight_decay;
  double beta1, beta2;
  double bias_correction2_sqrt;  // sqrt(1 - beta2^t)
  double eps;
  double neg_step_size;  // -lr / (1 - beta1^t)
};

// One Adam update of n contiguous elements. Each line is one torch op of
// _single_tensor_adam (torch 1.13), evaluated in the same order and in the
// parameter's precision, so f64 trajectories agree with torch to rounding.
// The arrays never overlap (__restrict), so the loop vectorises.
template <typename T, bool kAmsgrad>
void adam_cpu(T* __restrict p, const T* __restrict grad, T* __restrict m, T* __restrict v, T* __restrict v_max,
              std::int64_t n, const AdamScalars& s) {
  const T weight_decay = static_cast<T>(s.weight_decay), beta1 = static_cast<T>(s.beta1);
  const T beta2 = static_cast<T>(s.beta2);
  const T one_minus_beta1 = static_cast<T>(1 - s.beta1), one_minus_beta2 = static_cast<T>(1 - s.beta2);
  const T bc2_sqrt = static_cast<T>(s.bias_correction2_sqrt), eps = static_cast<T>(s.eps);
  const T neg_step_size = static_cast<T>(s.neg_step_size);
  for (std::int64_t i = 0; i < n; ++i) {
    const T g = grad[i] + weight_decay * p[i];      // grad.add(param, alpha=wd) (torch skips it when wd = 0;
                                                    // g + 0 * p is the same number for finite p)
    m[i] = m[i] * beta1 + one_minus_beta1 * g;      // exp_avg.mul_(b1).add_(g, alpha=1-b1)
    v[i] = v[i] * beta2 + one_minus_beta2 * g * g;  // exp_avg_sq.mul_(b2).addcmul_(g, g, value=1-b2)
    T second_moment = v[i];
    if constexpr (kAmsgrad) {  // torch.maximum(v_max, v, out=v_max)
      v_max[i] = v_max[i] < v[i] ? v[i] : v_max[i];
      second_moment = v_max[i];
    }
    const T denom = std::sqrt(second_moment) / bc2_sqrt + eps;  // (v.sqrt() / bc2_sqrt).add_(eps)
    p[i] = p[i] + neg_step_size * m[i] / denom;                 // param.addcdiv_(m, denom, value=-step_size)
  }
}

// Adam on a whole CPU tensor: the elements split over threads; v_max is
// undefined unless amsgrad.
template <typename T>
void adam_update_cpu(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                     const Tensor& max_exp_avg_sq, const AdamScalars& s) {
  T* p = param.data<T>();
  const T* g = grad.data<T>();
  T *m = exp_avg.data<T>(), *v = exp_avg_sq.data<T>();
  T* v_max = max_exp_avg_sq.defined() ? max_exp_avg_sq.data<T>() : nullptr;
  cpu::parallel_for(param.numel(), 4, [&](std::int64_t begin, std::int64_t end) {
    if (v_max != nullptr) {
      adam_cpu<T, true>(p + begin, g + begin, m + begin, v + begin, v_max + begin, end - begin, s);
    } else {
      adam_cpu<T, false>(p + begin, g + begin, m + begin, v + begin, nullptr, end - begin, s);
    }
  });
}

}  // namespace

std::map<std::string, double> AdamOptions::to_map() const {
  return {{"lr", lr},
          {"beta1", beta1},
          {"beta2", beta2},
          {"eps", eps},
          {"weight_decay", weight_decay},
          {"amsgrad", amsgrad ? 1.0 : 0.0}};
}

Adam::Adam(std::vector<Tensor> params, AdamOptions options) : Adam({ParamGroup{std::move(params), {}, {}}}, options) {}

Adam::Adam(std::vector<ParamGroup> groups, AdamOptions defaults)
    : Optimizer("Adam", defaults.to_map(), {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}) {
  for (ParamGroup& group : groups) add_param_group(std::move(group));
}

void Adam::check_options(const ParamGroup& group, std::size_t g) const {
  check_option_range(name(), g, "lr", group.option("lr"), 0, INFINITY, false);
  check_option_range(name(), g, "beta1", group.option("beta1"), 0, 1, false);
  check_option_range(name(), g, "beta2", group.option("beta2"), 0, 1, false);
  check_option_range(name(), g, "eps", group.option("eps"), 0, INFINITY, false);
  check_option_range(name(), g, "weight_decay", group.option("weight_decay"), 0, INFINITY, false);
  check_option_range(name(), g, "amsgrad", group.option("amsgrad"), 0, 1, true);
}

void Adam::step() {
  NoGradGuard no_grad;
  const std::vector<ParamGroup>& groups = param_groups();
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const ParamGroup& group = groups[g];
    const double lr = group.option("lr"), beta1 = group.option("beta1"), beta2 = group.option("beta2");
    const double eps = group.option("eps"), weight_decay = group.option("weight_decay");
    const bool amsgrad = group.option("amsgrad") != 0;
    for (std::size_t i = 0; i < group.params.size(); ++i) {
      const Tensor& param = group.params[i];
      if (!param.grad().defined()) continue;
      check_devices(param, param.grad(), find_state(param), g, i);
      const Tensor grad = raw::contiguous(param.grad());
      ParamState& state = this->state(param);

      if (state.step == 0) {  // first update: m = v = 0
        state.buffers["exp_avg"] = zeros_like(param);
        state.buffers["exp_avg_sq"] = zeros_like(param);
      }
      if (amsgrad && !state.buffers.count("max_exp_avg_sq")) state.buffers["max_exp_avg_sq"] = zeros_like(param);
      const Tensor& exp_avg = buffer(state, "exp_avg", g, i);
      const Tensor& exp_avg_sq = buffer(state, "exp_avg_sq", g, i);
      const Tensor max_exp_avg_sq = amsgrad ? buffer(state, "max_exp_avg_sq", g, i) : Tensor();

      state.step += 1;
      const double t = static_cast<double>(state.step);
      const double bias_correction1 = 1 - std::pow(beta1, t);
      const double bias_correction2 = 1 - std::pow(beta2, t);
      const AdamScalars scalars{.weight_decay = weight_decay,
                                .beta1 = beta1,
                                .beta2 = beta2,
                                .bias_correction2_sqrt = std::sqrt(bias_correction2),
                                .eps = eps,
                                .neg_step_size = -(lr / bias_correction1)};
      switch (param.device().type) {
        case DeviceType::CPU:
          visit_floating(param.dtype(), "Adam.step", [&]<typename T>(T) {
            adam_update_cpu<T>(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, scalars);
          });
          break;
        case DeviceType::CUDA:
#if RECGRAD_WITH_CUDA
          cuda::adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq,
                          {.decoupled = false,
                           .weight_decay = weight_decay,
                           .beta1 = beta1,
                           .beta2 = beta2,
                           .bias_correction2_sqrt = scalars.bias_correction2_sqrt,
                           .eps = eps,
                           .neg_step_size = scalars.neg_step_size});
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
