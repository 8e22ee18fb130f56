#include "core/factory.h"

#include <cmath>
#include <numbers>

#include "core/cpu/parallel.h"
#include "core/ops/copy.h"

#include "core/cpu/random.h"
#include "core/cuda/random.h"

namespace recgrad {

Tensor empty(const Shape& shape, TensorOptions options) { return Tensor::empty(shape, options.dtype, options.device); }

Tensor full(const Shape& shape, double value, TensorOptions options) {
  Tensor out = empty(shape, options);
  raw::fill_(out, value);
  return out;
}

Tensor zeros(const Shape& shape, TensorOptions options) { return full(shape, 0.0, options); }
Tensor ones(const Shape& shape, TensorOptions options) { return full(shape, 1.0, options); }
Tensor scalar_tensor(double value, TensorOptions options) { return full({}, value, options); }
Tensor zeros_like(const Tensor& like) { return zeros(like.shape(), {like.dtype(), like.device()}); }
Tensor ones_like(const Tensor& like) { return ones(like.shape(), {like.dtype(), like.device()}); }
Tensor empty_like(const Tensor& like) { return empty(like.shape(), {like.dtype(), like.device()}); }

Tensor arange(double start, double end, double step, TensorOptions options) {
  RG_CHECK(step != 0.0, "arange: step must be non-zero");
  const double span = (end - start) / step;
  const std::int64_t count = span > 0 ? static_cast<std::int64_t>(std::ceil(span)) : 0;
  Tensor host = Tensor::empty({count}, options.dtype);
  visit_numeric(options.dtype, "arange", [&]<typename T>(T) {
    T* data = host.data<T>();
    for (std::int64_t i = 0; i < count; ++i) data[i] = static_cast<T>(start + step * static_cast<double>(i));
  });
  return raw::to_device(host, options.device);
}

template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, Device device) {
  RG_CHECK(static_cast<std::int64_t>(values.size()) == numel_of(shape), "from_vector: ", values.size(),
           " values do not fill shape ", shape, " (", numel_of(shape), " elements)");
  Tensor host = Tensor::empty(shape, dtype_of<T>());
  T* data = host.data<T>();
  for (std::size_t i = 0; i < values.size(); ++i) data[i] = values[i];
  return raw::to_device(host, device);
}
template Tensor from_vector(const std::vector<float>&, const Shape&, Device);
template Tensor from_vector(const std::vector<double>&, const Shape&, Device);
template Tensor from_vector(const std::vector<std::int64_t>&, const Shape&, Device);
template Tensor from_vector(const std::vector<std::int32_t>&, const Shape&, Device);
template Tensor from_vector(const std::vector<std::uint8_t>&, const Shape&, Device);

template <>
Tensor from_vector(const std::vector<bool>& values, const Shape& shape, Device device) {
  RG_CHECK(static_cast<std::int64_t>(values.size()) == numel_of(shape), "from_vector: ", values.size(),
           " values do not fill shape ", shape);
  Tensor host = Tensor::empty(shape, DType::b8);
  bool* data = host.data<bool>();
  for (std::size_t i = 0; i < values.size(); ++i) data[i] = values[i];
  return raw::to_device(host, device);
}

namespace {
Generator& pick(Generator* generator) { return generator != nullptr ? *generator : default_generator(); }
}  // namespace

// Element i uses Philox block (start + i / 2); its two 64-bit halves give the
// two uniforms of a Box-Muller pair, so element i takes the cosine branch when
// i is even and the sine branch when odd.
Tensor randn(const Shape& shape, TensorOptions options, Generator* generator) {
  Generator& gen = pick(generator);
  const std::int64_t n = numel_of(shape);
  const std::uint64_t start = gen.reserve(static_cast<std::uint64_t>((n + 1) / 2));
  const std::uint64_t seed = gen.seed();
  if (options.device.is_cuda()) {  // drawn on the GPU from the same counters (core/cuda/random.h)
    visit_floating(options.dtype, "randn", [](auto) {});
    Tensor out = Tensor::empty(shape, options.dtype, options.device);
    cuda::randn(out, seed, start);
    return out;
  }
  Tensor host = Tensor::empty(shape, options.dtype);
  cpu::randn(host, seed, start);
  return raw::to_device(host, options.device);
}

// Element i uses word (i % 4) of Philox block (start + i / 4). The scaling is
// one explicit fused multiply-add, so that the CUDA kernel (which computes the
// same fma) gives the same bits whatever the compilers would contract.
Tensor rand(const Shape& shape, double low, double high, TensorOptions options, Generator* generator) {
  Generator& gen = pick(generator);
  const std::int64_t n = numel_of(shape);
  const std::uint64_t start = gen.reserve(static_cast<std::uint64_t>((n + 3) / 4));
  const std::uint64_t seed = gen.seed();
  if (options.device.is_cuda()) {  // drawn on the GPU from the same counters (core/cuda/random.h)
    visit_floating(options.dtype, "rand", [](auto) {});
    Tensor out = Tensor::empty(shape, options.dtype, options.device);
    cuda::rand(out, low, high, seed, start);
    return out;
  }
  Tensor host = Tensor::empty(shape, options.dtype);
  cpu::rand(host, low, high, seed, start);
  return raw::to_device(host, options.device);
}

// Element i uses the 64-bit half (i % 2) of Philox block (start + i / 2),
// reduced modulo the range (bias below 2^-32 for ranges under 2^32).
Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, TensorOptions options, Generator* generator) {
  RG_CHECK(high > low, "randint: empty range [", low, ", ", high, ")");
  Generator& gen = pick(generator);
  const std::int64_t n = numel_of(shape);
  const std::uint64_t start = gen.reserve(static_cast<std::uint64_t>((n + 1) / 2));
  const std::uint64_t seed = gen.seed();
  const auto range = static_cast<std::uint64_t>(high - low);
  Tensor host = Tensor::empty(shape, options.dtype);
  visit_numeric(options.dtype, "randint", [&]<typename T>(T) {
    T* data = host.data<T>();
    for (std::int64_t i = 0; i < n; ++i) {
      const auto words = philox4x32(seed, start + static_cast<std::uint64_t>(i / 2), 0);
      const std::size_t h = static_cast<std::size_t>(i % 2) * 2;
      const std::uint64_t bits = (static_cast<std::uint64_t>(words[h]) << 32) | words[h + 1];
      data[i] = static_cast<T>(low + static_cast<std::int64_t>(bits % range));
    }
  });
  return raw::to_device(host, options.device);
}

}  // namespace recgrad
