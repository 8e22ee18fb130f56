#include "core/cpu/compare.h"

#include <type_traits>

#include "core/cpu/loops.h"
#include "core/cpu/map.h"

namespace recgrad::cpu {
namespace {

// out[i] = compare(a[i], b[i]) as bool.
template <typename Compare>
void compare_with(const Tensor& out, const Tensor& a, const Tensor& b, Compare compare) {
  visit_dtype(a.dtype(), [&]<typename T>(T) {
    cpu::map<bool, T, T>(
        out, [compare](T x, T y) -> bool { return compare(x, y); }, a, b);
  });
}

// out[i] = compare(a[i], scalar); floating a compares in its own dtype, others in double.
template <typename Compare>
void compare_scalar_with(const Tensor& out, const Tensor& a, double scalar, Compare compare) {
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
}

constexpr auto kEqual = [](auto x, auto y) RG_KERNEL { return x == y; };
constexpr auto kNotEqual = [](auto x, auto y) RG_KERNEL { return x != y; };
constexpr auto kLess = [](auto x, auto y) RG_KERNEL { return x < y; };
constexpr auto kLessEqual = [](auto x, auto y) RG_KERNEL { return x <= y; };
constexpr auto kGreater = [](auto x, auto y) RG_KERNEL { return x > y; };
constexpr auto kGreaterEqual = [](auto x, auto y) RG_KERNEL { return x >= y; };

// Calls fn with the comparison lambda of `op`.
template <typename Fn>
void with_comparison(raw::CompareOp op, Fn fn) {
  switch (op) {
    case raw::CompareOp::eq:
      return fn(kEqual);
    case raw::CompareOp::ne:
      return fn(kNotEqual);
    case raw::CompareOp::lt:
      return fn(kLess);
    case raw::CompareOp::le:
      return fn(kLessEqual);
    case raw::CompareOp::gt:
      return fn(kGreater);
    case raw::CompareOp::ge:
      return fn(kGreaterEqual);
  }
}

}  // namespace

void compare(raw::CompareOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  with_comparison(op, [&](auto compare) { compare_with(out, a, b, compare); });
}

void compare_scalar(raw::CompareOp op, const Tensor& out, const Tensor& a, double scalar) {
  with_comparison(op, [&](auto compare) { compare_scalar_with(out, a, scalar, compare); });
}

void logical_not(const Tensor& out, const Tensor& mask) {
  cpu::map<bool, bool>(
      out, [](bool m) { return !m; }, mask);
}

void where(const Tensor& out, const Tensor& condition, const Tensor& a, const Tensor& b) {
  visit_dtype(a.dtype(), [&]<typename T>(T) {
    cpu::map<T, bool, T, T>(
        out, [](bool c, T x, T y) { return c ? x : y; }, condition, a, b);
  });
}

void masked_fill(const Tensor& out, const Tensor& x, const Tensor& mask, double value) {
  visit_dtype(x.dtype(), [&]<typename T>(T) {
    const T fill = static_cast<T>(value);
    cpu::map<T, T, bool>(
        out, [fill](T v, bool m) { return m ? fill : v; }, x, mask);
  });
}

// `a != a` is true only for NaN, which then wins (as in PyTorch); a NaN b
// fails both comparisons and is taken as the fallback.
Tensor maximum(const Tensor& a, const Tensor& b) {
  return numeric_map(
      "maximum", [](auto x, auto y) RG_KERNEL { return (x != x || x > y) ? x : y; }, a, b);
}

Tensor minimum(const Tensor& a, const Tensor& b) {
  return numeric_map(
      "minimum", [](auto x, auto y) RG_KERNEL { return (x != x || x < y) ? x : y; }, a, b);
}

Tensor extremum_backward(const Tensor& g, const Tensor& self, const Tensor& other, bool is_maximum) {
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

}  // namespace recgrad::cpu
