// The one elementwise loop every CPU map op uses: out[i] = op(in0[i], in1[i], ...)
// over views that already have the output's shape (broadcast inputs carry
// stride 0). Contiguous operands take a flat loop the compiler vectorises; any
// other layout walks rows of the last dimension with explicit strides.
#pragma once

#include <array>
#include <cstdint>
#include <tuple>
#include <utility>

#include "core/cpu/parallel.h"
#include "core/tensor.h"

/// Marks a per-element kernel lambda, [](auto x) RG_KERNEL { ... }, to be
/// inlined into the loop of cpu::map so that the loop vectorises. In a large
/// file GCC's growth limits otherwise leave a big kernel (exp, erfc) as one
/// call per element, several times slower.
#define RG_KERNEL __attribute__((always_inline))

namespace recgrad::cpu {

/// Offsets (in elements) of the start of row `row` of a view, where rows run
/// over every dimension but the last.
inline std::int64_t row_offset(std::int64_t row, const Shape& shape, const Strides& strides) {
  std::int64_t offset = 0;
  for (std::size_t d = shape.size() - 1; d-- > 0;) {
    const std::int64_t index = row % shape[d];
    row /= shape[d];
    offset += index * strides[d];
  }
  return offset;
}

/// out[i] = op(inputs[i]...) for every element; `Out` and `In...` are the C++
/// element types. All inputs must have out's shape (use expanded views).
namespace detail {
template <typename Out, typename... In, typename Op, typename... Tensors, std::size_t... I>
void map_impl(std::index_sequence<I...>, const Tensor& out, Op op, const Tensors&... inputs) {
  const std::int64_t n = out.numel();
  if (n == 0) return;
  Out* out_data = static_cast<Out*>(out.raw_data());
  const std::tuple<const In*...> in_data{static_cast<const In*>(inputs.raw_data())...};
  if (out.is_contiguous() && (inputs.is_contiguous() && ...)) {
    parallel_for(n, 1, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) out_data[i] = op(std::get<I>(in_data)[i]...);
    });
    return;
  }
  const Shape& shape = out.shape();
  if (shape.empty()) {  // a 0-d output with a non-contiguous (expanded) input
    out_data[0] = op(std::get<I>(in_data)[0]...);
    return;
  }
  const std::int64_t inner = shape.back();
  const std::int64_t rows = inner == 0 ? 0 : n / inner;
  const std::int64_t out_step = out.strides().back();
  const std::array<std::int64_t, sizeof...(In)> in_step{inputs.strides().back()...};
  parallel_for(rows, inner, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t row = begin; row < end; ++row) {
      Out* o = out_data + row_offset(row, shape, out.strides());
      const std::tuple<const In*...> row_in{(std::get<I>(in_data) + row_offset(row, shape, inputs.strides()))...};
      for (std::int64_t j = 0; j < inner; ++j) {
        o[j * out_step] = op(std::get<I>(row_in)[j * in_step[I]]...);
      }
    }
  });
}
}  // namespace detail

/// out[i] = op(inputs[i]...) for every element; `Out` and `In...` are the C++
/// element types. All inputs must have out's shape (use expanded views).
template <typename Out, typename... In, typename Op, typename... Tensors>
void map(const Tensor& out, Op op, const Tensors&... inputs) {
  static_assert(sizeof...(In) == sizeof...(Tensors));
  detail::map_impl<Out, In...>(std::index_sequence_for<In...>{}, out, op, inputs...);
}

}  // namespace recgrad::cpu
