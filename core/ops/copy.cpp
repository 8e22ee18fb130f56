#include "core/ops/copy.h"

#include "core/cpu/loops.h"
#include "core/ops/view.h"

namespace recgrad::raw {

void fill_(const Tensor& dst, double value) {
  RG_CHECK(dst.device().is_cpu(), "fill_: device ", dst.device(), " not supported in this build");
  visit_dtype(dst.dtype(), [&]<typename T>(T) {
    const T v = static_cast<T>(value);
    cpu::map<T>(dst, [v]() { return v; });
  });
  dst.bump_version();
}

void copy_(const Tensor& dst, const Tensor& src) {
  RG_CHECK(dst.device() == src.device(), "copy_: source on ", src.device(), " but destination on ", dst.device());
  const Tensor source = expand(src, dst.shape());
  visit_dtype(dst.dtype(), [&]<typename D>(D) {
    visit_dtype(src.dtype(), [&]<typename S>(S) {
      cpu::map<D, S>(
          dst, [](S x) { return static_cast<D>(x); }, source);
    });
  });
  dst.bump_version();
}

Tensor clone(const Tensor& src) {
  Tensor out = Tensor::empty(src.shape(), src.dtype(), src.device());
  copy_(out, src);
  return out;
}

Tensor contiguous(const Tensor& src) { return src.is_contiguous() ? src : clone(src); }

Tensor to_dtype(const Tensor& src, DType dtype) {
  if (src.dtype() == dtype) return src;
  Tensor out = Tensor::empty(src.shape(), dtype, src.device());
  copy_(out, src);
  return out;
}

Tensor to_device(const Tensor& src, Device device) {
  if (src.device() == device) return src;
  RG_CHECK(device.is_cpu(), "to_device: device ", device, " is not available in this build");
  return src;
}

}  // namespace recgrad::raw
