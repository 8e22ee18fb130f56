// The CPU loops of the optimizer steps. Each line of a loop is one torch op of the matching
// _single_tensor_* function (torch 1.13), evaluated in the same order and in the parameter's precision,
// so f64 trajectories agree with torch to rounding.
#include "core/cpu/optim_step.h"

#include <algorithm>
#include <cmath>

#include "core/cpu/parallel.h"

namespace recgrad::cpu {

namespace {

// One SGD update of n contiguous elements, in the order of torch's
// _single_tensor_sgd. `buf` is null when momentum is 0.
template <typename T>
void sgd_cpu(T* p, const T* grad, T* buf, std::int64_t n, const raw::SGDStepScalars& s) {
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

// One Adam (kDecoupled = false) or AdamW (kDecoupled = true) update of n contiguous elements.
// (torch >= 2.0 writes the m update as m.lerp_(g, 1 - beta1) = m + (1 - beta1) * (g - m),
// which is the same number up to the last bit.) The arrays never overlap (__restrict), so the
// loop vectorises.
template <typename T, bool kDecoupled, bool kAmsgrad>
void adam_cpu(T* __restrict p, const T* __restrict grad, T* __restrict m, T* __restrict v, T* __restrict v_max,
              std::int64_t n, const raw::AdamStepScalars& s) {
  const T weight_decay = static_cast<T>(s.weight_decay), decay = static_cast<T>(s.decay);
  const T beta1 = static_cast<T>(s.beta1), beta2 = static_cast<T>(s.beta2);
  const T one_minus_beta1 = static_cast<T>(1 - s.beta1), one_minus_beta2 = static_cast<T>(1 - s.beta2);
  const T bc2_sqrt = static_cast<T>(s.bias_correction2_sqrt), eps = static_cast<T>(s.eps);
  const T neg_step_size = static_cast<T>(s.neg_step_size);
  for (std::int64_t i = 0; i < n; ++i) {
    T g;
    if constexpr (kDecoupled) {
      p[i] = p[i] * decay;  // AdamW: param.mul_(1 - lr * wd)
      g = grad[i];
    } else {
      g = grad[i] + weight_decay * p[i];  // Adam: grad.add(param, alpha=wd) (torch skips it when wd = 0;
                                          // g + 0 * p is the same number for finite p)
    }
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

// Adam on a whole CPU tensor: the elements split over threads; v_max is null unless amsgrad.
template <typename T, bool kDecoupled>
void adam_update_cpu(T* p, const T* g, T* m, T* v, T* v_max, std::int64_t n, const raw::AdamStepScalars& s) {
  cpu::parallel_for(n, 4, [&](std::int64_t begin, std::int64_t end) {
    if (v_max != nullptr) {
      adam_cpu<T, kDecoupled, true>(p + begin, g + begin, m + begin, v + begin, v_max + begin, end - begin, s);
    } else {
      adam_cpu<T, kDecoupled, false>(p + begin, g + begin, m + begin, v + begin, nullptr, end - begin, s);
    }
  });
}

// One Lion update of n contiguous elements.
template <typename T>
void lion_cpu(T* __restrict p, const T* __restrict g, T* __restrict m, std::int64_t n, const raw::LionStepScalars& s) {
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

}  // namespace

void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const raw::SGDStepScalars& s) {
  visit_floating(param.dtype(), "SGD.step", [&]<typename T>(T) {
    sgd_cpu<T>(param.data<T>(), grad.data<T>(), momentum_buffer.defined() ? momentum_buffer.data<T>() : nullptr,
               param.numel(), s);
  });
}

void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
               const Tensor& max_exp_avg_sq, const raw::AdamStepScalars& s) {
  visit_floating(param.dtype(), s.decoupled ? "AdamW.step" : "Adam.step", [&]<typename T>(T) {
    T* v_max = max_exp_avg_sq.defined() ? max_exp_avg_sq.data<T>() : nullptr;
    if (s.decoupled) {
      adam_update_cpu<T, true>(param.data<T>(), grad.data<T>(), exp_avg.data<T>(), exp_avg_sq.data<T>(), v_max,
                               param.numel(), s);
    } else {
      adam_update_cpu<T, false>(param.data<T>(), grad.data<T>(), exp_avg.data<T>(), exp_avg_sq.data<T>(), v_max,
                                param.numel(), s);
    }
  });
}

void lion_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const raw::LionStepScalars& s) {
  visit_floating(param.dtype(), "Lion.step", [&]<typename T>(T) {
    T* p = param.data<T>();
    const T* g = grad.data<T>();
    T* m = exp_avg.data<T>();
    cpu::parallel_for(param.numel(), 8, [&](std::int64_t begin, std::int64_t end) {
      lion_cpu<T>(p + begin, g + begin, m + begin, end - begin, s);
    });
  });
}

double power_sum(const Tensor& x, double p) {
  return visit_floating(x.dtype(), "clip_grad_norm_", [&]<typename T>(T) {
    const T* data = x.data<T>();
    const std::int64_t n = x.numel();
    double result = 0;
    if (std::isinf(p)) {
      for (std::int64_t i = 0; i < n; ++i) result = std::max(result, static_cast<double>(std::abs(data[i])));
      if (std::any_of(data, data + n, [](T v) { return std::isnan(v); })) result = NAN;
    } else if (p == 2) {
      for (std::int64_t i = 0; i < n; ++i) result += static_cast<double>(data[i]) * static_cast<double>(data[i]);
    } else if (p == 1) {
      for (std::int64_t i = 0; i < n; ++i) result += std::abs(static_cast<double>(data[i]));
    } else {
      for (std::int64_t i = 0; i < n; ++i) result += std::pow(std::abs(static_cast<double>(data[i])), p);
    }
    return result;
  });
}

}  // namespace recgrad::cpu
