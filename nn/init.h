// In-place initialisers for parameters, following torch.nn.init. Each draws
// from the given Philox generator (the default one when null), so
// manual_seed(s) followed by building a model gives identical weights every
// time. All run under NoGradGuard and return the tensor they filled.
#pragma once

#include "core/rng.h"
#include "core/tensor.h"

namespace recgrad::nn::init {

/// t ~ U(low, high).
Tensor uniform_(const Tensor& t, double low = 0.0, double high = 1.0, Generator* generator = nullptr);
/// t ~ N(mean, std^2).
Tensor normal_(const Tensor& t, double mean = 0.0, double std = 1.0, Generator* generator = nullptr);
/// t = value everywhere.
Tensor constant_(const Tensor& t, double value);
Tensor zeros_(const Tensor& t);
Tensor ones_(const Tensor& t);

/// fan_in = size(1) * receptive field, fan_out = size(0) * receptive field,
/// where the receptive field is the product of dims 2.. (1 for a matrix).
/// Throws for tensors with fewer than 2 dims.
struct Fans {
  std::int64_t fan_in;
  std::int64_t fan_out;
};
Fans compute_fans(const Tensor& t);

/// Glorot/Xavier: t ~ U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out)).
Tensor xavier_uniform_(const Tensor& t, double gain = 1.0, Generator* generator = nullptr);

/// Glorot/Xavier normal: t ~ N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)) (torch.nn.init.xavier_normal_).
Tensor xavier_normal_(const Tensor& t, double gain = 1.0, Generator* generator = nullptr);

enum class FanMode { FanIn, FanOut };
/// He/Kaiming for a leaky-ReLU of negative slope `a` (a = 0: ReLU):
/// t ~ U(-b, b), b = gain * sqrt(3 / fan), gain = sqrt(2 / (1 + a^2)), fan by `mode`.
/// With a = sqrt(5) (PyTorch's Linear default) b reduces to 1 / sqrt(fan_in).
Tensor kaiming_uniform_(const Tensor& t, double a = 0.0, FanMode mode = FanMode::FanIn, Generator* generator = nullptr);

}  // namespace recgrad::nn::init
