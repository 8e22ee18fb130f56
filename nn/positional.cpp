#include "nn/positional.h"

#include <cmath>
#include <vector>

#include "autograd/ops/binary.h"
#include "autograd/ops/index.h"
#include "autograd/ops/view.h"
#include "core/factory.h"
#include "core/ops/copy.h"

namespace recgrad::nn {

Tensor sinusoidal_positions(std::int64_t length, std::int64_t dim, TensorOptions options) {
  RG_CHECK(length >= 0 && dim > 0 && dim % 2 == 0, "sinusoidal_positions: needs length >= 0 and an even dim > 0, got ",
           length, " and ", dim);
  std::vector<double> values(static_cast<std::size_t>(length * dim));
  for (std::int64_t p = 0; p < length; ++p) {
    for (std::int64_t i = 0; i < dim / 2; ++i) {
      const double angle = static_cast<double>(p) / std::pow(10000.0, 2.0 * static_cast<double>(i) / dim);
      values[p * dim + 2 * i] = std::sin(angle);
      values[p * dim + 2 * i + 1] = std::cos(angle);
    }
  }
  return raw::to_device(raw::to_dtype(from_vector(values, {length, dim}), options.dtype), options.device);
}

RotaryEmbedding::RotaryEmbedding(std::int64_t head_dim, double theta) : head_dim(head_dim), theta(theta) {
  RG_CHECK(head_dim > 0 && head_dim % 2 == 0 && theta > 0,
           "RotaryEmbedding: needs an even head_dim > 0 and theta > 0, got ", head_dim, " and ", theta);
}

Tensor RotaryEmbedding::apply(const Tensor& x, std::int64_t position_offset) const {
  RG_CHECK(x.dim() == 4 && x.size(3) == head_dim, "RotaryEmbedding::apply: expected x [B, H, T, ", head_dim, "], got ",
           x.shape());
  RG_CHECK(position_offset >= 0, "RotaryEmbedding::apply: position_offset must be >= 0, got ", position_offset);
  const std::int64_t length = x.size(2), half = head_dim / 2;
  // cos/sin tables [T, D], computed in double on the host, then in x's dtype on x's device
  std::vector<double> cos_table(static_cast<std::size_t>(length * head_dim));
  std::vector<double> sin_table(cos_table.size());
  for (std::int64_t t = 0; t < length; ++t) {
    for (std::int64_t i = 0; i < half; ++i) {
      const double inv_freq = std::pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(head_dim));
      const double angle = static_cast<double>(t + position_offset) * inv_freq;
      cos_table[t * head_dim + i] = cos_table[t * head_dim + i + half] = std::cos(angle);
      sin_table[t * head_dim + i] = sin_table[t * head_dim + i + half] = std::sin(angle);
    }
  }
  auto table = [&](const std::vector<double>& values) {
    return raw::to_device(raw::to_dtype(from_vector(values, {length, head_dim}), x.dtype()), x.device());
  };
  const Tensor cos = table(cos_table), sin = table(sin_table);
  const Tensor rotated_half = cat({neg(narrow(x, 3, half, half)), narrow(x, 3, 0, half)}, 3);
  return add(mul(x, cos), mul(rotated_half, sin));
}

}  // namespace recgrad::nn
