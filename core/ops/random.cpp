#include "core/ops/random.h"

#include <cmath>
#include <cstdint>

#include "core/cpu/loops.h"
#include "core/cpu/parallel.h"
#include "core/ops/copy.h"
#include "core/ops/unary.h"

#if RECGRAD_WITH_CUDA
#include "core/cuda/random.h"
#endif

namespace recgrad::raw {

namespace {

void check_probability(double p, const Shape& shape, std::string_view op) {
  RG_CHECK(p >= 0.0 && p <= 1.0, op, ": the drop probability must be in [0, 1], got ", p, " (input shape ", shape, ")");
}

// u >= p for u = (bits >> 8) * 2^-24 holds exactly when (bits >> 8) >= ceil(p * 2^24).
std::uint32_t keep_threshold(double p) { return static_cast<std::uint32_t>(std::ceil(p * 16777216.0)); }

// Calls keep_fn(i, keep) for every i in [0, n), drawing four elements per
// Philox block; blocks are split across threads, so the result does not
// depend on the thread count.
template <typename KeepFn>
void for_each_keep(std::int64_t n, double p, Generator& generator, KeepFn keep_fn) {
  const std::int64_t blocks = (n + 3) / 4;
  const std::uint64_t start = generator.reserve(static_cast<std::uint64_t>(blocks));
  const std::uint64_t seed = generator.seed();
  const std::uint32_t threshold = keep_threshold(p);
  cpu::parallel_for(blocks, 64, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t b = begin; b < end; ++b) {
      const auto words = philox4x32(seed, start + static_cast<std::uint64_t>(b), 0);
      const std::int64_t first = 4 * b;
      const int count = static_cast<int>(std::min<std::int64_t>(4, n - first));
      for (int j = 0; j < count; ++j) keep_fn(first + j, (words[static_cast<std::size_t>(j)] >> 8) >= threshold);
    }
  });
}

}  // namespace

Tensor dropout_keep_mask(const Shape& shape, double p, Generator& generator) {
  check_probability(p, shape, "dropout_keep_mask");
  Tensor keep = Tensor::empty(shape, DType::b8);
  bool* keep_data = keep.data<bool>();
  for_each_keep(keep.numel(), p, generator, [keep_data](std::int64_t i, bool kept) { keep_data[i] = kept; });
  return keep;
}

DropoutResult dropout(const Tensor& x, double p, Generator& generator) {
  check_floating(x, "dropout");
  check_probability(p, x.shape(), "dropout");
  RG_CHECK(p < 1.0, "dropout: p = 1 drops everything; the caller returns zeros instead (input shape ", x.shape(), ")");
#if RECGRAD_WITH_CUDA
  if (x.device().is_cuda()) {  // the same counters as for_each_keep below: the same mask on both devices
    DropoutResult result{Tensor::empty(x.shape(), x.dtype(), x.device()),
                         Tensor::empty(x.shape(), DType::b8, x.device())};
    const std::uint64_t start = generator.reserve(static_cast<std::uint64_t>((x.numel() + 3) / 4));
    cuda::dropout(x, keep_threshold(p), 1.0 / (1.0 - p), generator.seed(), start, result.output, result.keep);
    return result;
  }
#endif
  const Tensor input = raw::contiguous(x);
  DropoutResult result{Tensor::empty(x.shape(), x.dtype(), x.device()), Tensor::empty(x.shape(), DType::b8)};
  bool* keep_data = result.keep.data<bool>();
  visit_floating(x.dtype(), "dropout", [&]<typename T>(T) {
    const T scale = static_cast<T>(1.0 / (1.0 - p));
    const T* in = input.data<T>();
    T* out = result.output.data<T>();
    for_each_keep(x.numel(), p, generator, [=](std::int64_t i, bool kept) {
      keep_data[i] = kept;
      out[i] = in[i] * (kept ? scale : T{0});  // a multiply, as in PyTorch: a dropped NaN stays NaN
    });
  });
  return result;
}

Tensor dropout_backward(const Tensor& g, const Tensor& keep, double scale) {
  RG_CHECK(keep.dtype() == DType::b8 && keep.shape() == g.shape(), "dropout_backward: mask ", keep.dtype(), " ",
           keep.shape(), " does not match the gradient ", g.dtype(), " ", g.shape());
  check_floating(g, "dropout_backward");
  Tensor out = Tensor::empty(g.shape(), g.dtype(), g.device());
#if RECGRAD_WITH_CUDA
  if (g.device().is_cuda()) {
    RG_CHECK(keep.device() == g.device(), "dropout_backward: mask on ", keep.device(), " but the gradient on ",
             g.device());
    cuda::dropout_backward(g, keep, scale, out);
    return out;
  }
#endif
  visit_floating(g.dtype(), "dropout_backward", [&]<typename T>(T) {
    const T s = static_cast<T>(scale);
    cpu::map<T, T, bool>(
        out, [s](T dy, bool kept) { return dy * (kept ? s : T{0}); }, g, keep);
  });
  return out;
}

}  // namespace recgrad::raw
