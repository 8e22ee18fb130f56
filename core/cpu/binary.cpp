#include "core/cpu/binary.h"

#include <string_view>

#include "core/cpu/loops.h"

namespace recgrad::cpu {
namespace {

// out[i] = fn(a[i], b[i]) for the numeric dtypes (a, b already expanded to out's shape); `fn` is a generic
// lambda called with the C++ element type, its result converted back to it.
template <typename Fn>
void map_numeric(const Tensor& out, const Tensor& a, const Tensor& b, std::string_view op, Fn fn) {
  visit_numeric(a.dtype(), op, [&]<typename T>(T) {
    cpu::map<T, T, T>(
        out, [fn](T x, T y) { return static_cast<T>(fn(x, y)); }, a, b);
  });
}

}  // namespace

void add(const Tensor& out, const Tensor& a, const Tensor& b) {
  map_numeric(out, a, b, "add", [](auto x, auto y) { return x + y; });
}

void sub(const Tensor& out, const Tensor& a, const Tensor& b) {
  map_numeric(out, a, b, "sub", [](auto x, auto y) { return x - y; });
}

void mul(const Tensor& out, const Tensor& a, const Tensor& b) {
  map_numeric(out, a, b, "mul", [](auto x, auto y) { return x * y; });
}

void div(const Tensor& out, const Tensor& a, const Tensor& b) {
  map_numeric(out, a, b, "div", [](auto x, auto y) { return x / y; });
}

void add_scaled_(const Tensor& dst, const Tensor& src, double alpha) {
  visit_numeric(dst.dtype(), "add_", [&]<typename T>(T) {
    const T scale = static_cast<T>(alpha);
    cpu::map<T, T, T>(
        dst, [scale](T d, T s) { return static_cast<T>(d + scale * s); }, dst, src);
  });
}

void scale_(const Tensor& dst, double factor) {
  visit_numeric(dst.dtype(), "mul_", [&]<typename T>(T) {
    const T f = static_cast<T>(factor);
    cpu::map<T, T>(
        dst, [f](T d) { return static_cast<T>(d * f); }, dst);
  });
}

}  // namespace recgrad::cpu
