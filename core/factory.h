// Tensor creation: constants, ranges, copies of host vectors and random
// tensors drawn from the counter-based Philox generator (core/rng.h).
#pragma once

#include <cstdint>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"

namespace recgrad {

/// Options shared by the creation functions.
struct TensorOptions {
  DType dtype = DType::f32;
  Device device = Device::cpu();
};

Tensor empty(const Shape& shape, TensorOptions options = {});
Tensor zeros(const Shape& shape, TensorOptions options = {});
Tensor ones(const Shape& shape, TensorOptions options = {});
/// Every element equal to `value` (converted to the dtype).
Tensor full(const Shape& shape, double value, TensorOptions options = {});
/// A 0-d tensor holding `value`.
Tensor scalar_tensor(double value, TensorOptions options = {});
/// [start, start + step, ...) up to (not including) `end`.
Tensor arange(double start, double end, double step = 1.0, TensorOptions options = {});
Tensor zeros_like(const Tensor& like);
Tensor ones_like(const Tensor& like);
Tensor empty_like(const Tensor& like);

/// A tensor of `shape` holding `values` (row-major); sizes must agree.
template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, Device device = Device::cpu());
/// A 1-d tensor holding `values`.
template <typename T>
Tensor from_vector(const std::vector<T>& values) {
  return from_vector(values, {static_cast<std::int64_t>(values.size())});
}

/// Standard normal samples (Box-Muller on Philox uniforms), times `stddev` plus `mean`.
Tensor randn(const Shape& shape, TensorOptions options = {}, Generator* generator = nullptr);
/// Uniform samples in [low, high).
Tensor rand(const Shape& shape, double low = 0.0, double high = 1.0, TensorOptions options = {},
            Generator* generator = nullptr);
/// Uniform integers in [low, high); dtype defaults to i64.
Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, TensorOptions options = {DType::i64},
               Generator* generator = nullptr);

}  // namespace recgrad
