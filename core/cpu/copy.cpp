#include "core/cpu/copy.h"

#include "core/cpu/loops.h"

namespace recgrad::cpu {

void fill(const Tensor& dst, double value) {
  visit_dtype(dst.dtype(), [&]<typename T>(T) {
    const T v = static_cast<T>(value);
    cpu::map<T>(dst, [v]() { return v; });
  });
}

void copy(const Tensor& dst, const Tensor& src) {
  visit_dtype(dst.dtype(), [&]<typename D>(D) {
    visit_dtype(src.dtype(), [&]<typename S>(S) {
      cpu::map<D, S>(
          dst, [](S x) { return static_cast<D>(x); }, src);
    });
  });
}

}  // namespace recgrad::cpu
