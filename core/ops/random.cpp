#include "core/ops/random.h"

#include <cmath>
#include <cstdint>

#include "core/cpu/random.h"
#include "core/cuda/random.h"
#include "core/ops/copy.h"
#include "core/ops/unary.h"

namespace recgrad::raw {

namespace {

void check_probability(double p, const Shape& shape, std::string_view op) {
  RG_CHECK(p >= 0.0 && p <= 1.0, op, ": the drop probability must be in [0, 1], got ", p, " (input shape ", shape, ")");
}

// u >= p for u = (bits >> 8) * 2^-24 holds exactly when (bits >> 8) >= ceil(p * 2^24).
std::uint32_t keep_threshold(double p) { return static_cast<std::uint32_t>(std::ceil(p * 16777216.0)); }

}  // namespace

Tensor dropout_keep_mask(const Shape& shape, double p, Generator& generator) {
  check_probability(p, shape, "dropout_keep_mask");
  Tensor keep = Tensor::empty(shape, DType::b8);
  const std::uint64_t start = generator.reserve(static_cast<std::uint64_t>((keep.numel() + 3) / 4));
  cpu::dropout_keep_mask(keep, keep_threshold(p), generator.seed(), start);
  return keep;
}

DropoutResult dropout(const Tensor& x, double p, Generator& generator) {
  check_floating(x, "dropout");
  check_probability(p, x.shape(), "dropout");
  RG_CHECK(p < 1.0, "dropout: p = 1 drops everything; the caller returns zeros instead (input shape ", x.shape(), ")");
  // The same counters on both devices: the same mask.
  const std::uint64_t start = generator.reserve(static_cast<std::uint64_t>((x.numel() + 3) / 4));
  const double scale = 1.0 / (1.0 - p);
  if (x.is_cuda()) {
    DropoutResult result{Tensor::empty(x.shape(), x.dtype(), x.device()),
                         Tensor::empty(x.shape(), DType::b8, x.device())};
    cuda::dropout(x, keep_threshold(p), scale, generator.seed(), start, result.output, result.keep);
    return result;
  }
  DropoutResult result{Tensor::empty(x.shape(), x.dtype(), x.device()), Tensor::empty(x.shape(), DType::b8)};
  cpu::dropout(raw::contiguous(x), keep_threshold(p), scale, generator.seed(), start, result.output, result.keep);
  return result;
}

Tensor dropout_backward(const Tensor& g, const Tensor& keep, double scale) {
  RG_CHECK(keep.dtype() == DType::b8 && keep.shape() == g.shape(), "dropout_backward: mask ", keep.dtype(), " ",
           keep.shape(), " does not match the gradient ", g.dtype(), " ", g.shape());
  check_floating(g, "dropout_backward");
  Tensor out = Tensor::empty(g.shape(), g.dtype(), g.device());
  if (g.is_cuda()) {
    RG_CHECK(keep.device() == g.device(), "dropout_backward: mask on ", keep.device(), " but the gradient on ",
             g.device());
    cuda::dropout_backward(g, keep, scale, out);
  } else {
    cpu::dropout_backward(g, keep, scale, out);
  }
  return out;
}

}  // namespace recgrad::raw
