#include "core/ops/compare.h"

#include "core/cpu/loops.h"
#include "core/ops/binary.h"
#include "core/ops/cuda_dispatch.h"
#include "core/ops/unary.h"
#include "core/ops/view.h"

namespace recgrad::raw {

namespace {

void check_mask(const Tensor& mask, std::string_view op, std::string_view role) {
  RG_CHECK(mask.dtype() == DType::b8, op, ": the ", role, " must be a bool (b8) tensor, got ", mask.dtype(),
           " of shape ", mask.shape());
}

// out[i] = compare(a[i], b[i]) as bool over the broadcast shape.
template <typename Compare>
Tensor compare_tensors(const Tensor& a, const Tensor& b, std::string_view op, Compare compare,
                       [[maybe_unused]] cuda::CompareOp device_op) {
  const Shape shape = check_binary(a, b, op);
  Tensor out = Tensor::empty(shape, DType::b8, a.device());
#if RECGRAD_WITH_CUDA
  if (out.device().is_cuda()) {
    cuda::compare(device_op, out, raw::expand(a, shape), raw::expand(b, shape));
    return out;
  }
#endif
  visit_dtype(a.dtype(), [&]<typename T>(T) {
    cpu::map<bool, T, T>(
        out, [compare](T x, T y) -> bool { return compare(x, y); }, raw::expand(a, shape), raw::expand(b, shape));
  });
  return out;
}

// out[i] = compare(a[i], scalar); floating a compares in its own dtype, others in double.
template <typename Compare>
Tensor compare_scalar(const Tensor& a, double scalar, Compare compare, [[maybe_unused]] cuda::CompareOp device_op) {
  Tensor out = Tensor::empty(a.shape(), DType::b8, a.device());
#if RECGRAD_WITH_CUDA
  if (out.device().is_cuda()) {
    cuda::compare_scalar(device_op, out, a, scalar);
    return out;
  }
#endif
  visit_dtype(a.dtype(), [&]<typename T>(T) {
    if constexpr (std::is_floating_point_v<T>) {
      const T s = static_cast<T>(scalar);
      cpu::map<bool, T>(
          out, [compare, s](T x) -> bool { return compare(x, s); }, a);
    } else {
      cpu::map<bool, T>(
          out, [compare, scalar](T x) -> bool { return compare(static_cast<double>(x), scalar); }, a);
    }
  });
  return out;
}

constexpr auto kEqual = [](auto x, auto y) RG_KERNEL { return x == y; };
constexpr auto kNotEqual = [](auto x, auto y) RG_KERNEL { return x != y; };
constexpr auto kLess = [](auto x, auto y) RG_KERNEL { return x < y; };
constexpr auto kLessEqual = [](auto x, auto y) RG_KERNEL { return x <= y; };
constexpr auto kGreater = [](auto x, auto y) RG_KERNEL { return x > y; };
constexpr auto kGreaterEqual = [](auto x, auto y) RG_KERNEL { return x >= y; };

}  // namespace

Tensor eq(const Tensor& a, const Tensor& b) { return compare_tensors(a, b, "eq", kEqual, cuda::CompareOp::eq); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare_tensors(a, b, "ne", kNotEqual, cuda::CompareOp::ne); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare_tensors(a, b, "lt", kLess, cuda::CompareOp::lt); }
Tensor le(const Tensor& a, const Tensor& b) { return compare_tensors(a, b, "le", kLessEqual, cuda::CompareOp::le); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare_tensors(a, b, "gt", kGreater, cuda::CompareOp::gt); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare_tensors(a, b, "ge", kGreaterEqual, cuda::CompareOp::ge); }

Tensor eq(const Tensor& a, double b) { return compare_scalar(a, b, kEqual, cuda::CompareOp::eq); }
Tensor ne(const Tensor& a, double b) { return compare_scalar(a, b, kNotEqual, cuda::CompareOp::ne); }
Tensor lt(const Tensor& a, double b) { return compare_scalar(a, b, kLess, cuda::CompareOp::lt); }
Tensor le(const Tensor& a, double b) { return compare_scalar(a, b, kLessEqual, cuda::CompareOp::le); }
Tensor gt(const Tensor& a, double b) { return compare_scalar(a, b, kGreater, cuda::CompareOp::gt); }
Tensor ge(const Tensor& a, double b) { return compare_scalar(a, b, kGreaterEqual, cuda::CompareOp::ge); }

Tensor logical_not(const Tensor& mask) {
  check_mask(mask, "logical_not", "input");
  Tensor out = Tensor::empty(mask.shape(), DType::b8, mask.device());
#if RECGRAD_WITH_CUDA
  if (out.device().is_cuda()) {
    cuda::unary(cuda::UnaryOp::logical_not, out, mask);
    return out;
  }
#endif
  cpu::map<bool, bool>(
      out, [](bool m) { return !m; }, mask);
  return out;
}

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  check_mask(condition, "where", "condition");
  RG_CHECK(condition.device() == a.device(), "where: condition on ", condition.device(), " but values on ", a.device());
  const Shape shape = broadcast_shapes(condition.shape(), check_binary(a, b, "where"), "where");
  Tensor out = Tensor::empty(shape, a.dtype(), a.device());
#if RECGRAD_WITH_CUDA
  if (out.device().is_cuda()) {
    cuda::ternary(cuda::TernaryOp::where, out, raw::expand(condition, shape), raw::expand(a, shape),
                  raw::expand(b, shape));
    return out;
  }
#endif
  visit_dtype(a.dtype(), [&]<typename T>(T) {
    cpu::map<T, bool, T, T>(
        out, [](bool c, T x, T y) { return c ? x : y; }, raw::expand(condition, shape), raw::expand(a, shape),
        raw::expand(b, shape));
  });
  return out;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  check_mask(mask, "masked_fill", "mask");
  RG_CHECK(mask.device() == x.device(), "masked_fill: mask on ", mask.device(), " but input on ", x.device());
  RG_CHECK(broadcast_shapes(x.shape(), mask.shape(), "masked_fill") == x.shape(), "masked_fill: mask of shape ",
           mask.shape(), " does not broadcast to the input's shape ", x.shape(), " (", x.dtype(), ")");
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
#if RECGRAD_WITH_CUDA
  if (out.device().is_cuda()) {
    cuda::masked_fill(out, x, raw::expand(mask, x.shape()), value);
    return out;
  }
#endif
  visit_dtype(x.dtype(), [&]<typename T>(T) {
    const T fill = static_cast<T>(value);
    cpu::map<T, T, bool>(
        out, [fill](T v, bool m) { return m ? fill : v; }, x, raw::expand(mask, x.shape()));
  });
  return out;
}

// `a != a` is true only for NaN, which then wins (as in PyTorch); a NaN b
// fails both comparisons and is taken as the fallback.
Tensor maximum(const Tensor& a, const Tensor& b) {
  if (a.device().is_cuda()) return binary_on_cuda("maximum", cuda::BinaryOp::maximum, ElementKinds::numeric, a, b);
  return numeric_map(
      "maximum", [](auto x, auto y) RG_KERNEL { return (x != x || x > y) ? x : y; }, a, b);
}

Tensor minimum(const Tensor& a, const Tensor& b) {
  if (a.device().is_cuda()) return binary_on_cuda("minimum", cuda::BinaryOp::minimum, ElementKinds::numeric, a, b);
  return numeric_map(
      "minimum", [](auto x, auto y) RG_KERNEL { return (x != x || x < y) ? x : y; }, a, b);
}

Tensor extremum_backward(const Tensor& g, const Tensor& self, const Tensor& other, bool is_maximum) {
  if (g.device().is_cuda()) {
    return is_maximum ? ternary_on_cuda("maximum_backward", cuda::TernaryOp::maximum_backward, g, self, other)
                      : ternary_on_cuda("minimum_backward", cuda::TernaryOp::minimum_backward, g, self, other);
  }
  if (is_maximum) {
    return floating_map(
        "maximum_backward",
        [](auto dy, auto s, auto o) RG_KERNEL { return s == o ? dy / 2 : (s < o ? decltype(dy){0} : dy); }, g, self,
        other);
  }
  return floating_map(
      "minimum_backward",
      [](auto dy, auto s, auto o) RG_KERNEL { return s == o ? dy / 2 : (s > o ? decltype(dy){0} : dy); }, g, self,
      other);
}

}  // namespace recgrad::raw
