#include "core/ops/copy.h"

#include "core/cpu/loops.h"
#include "core/cuda/memcpy.h"
#include "core/cuda/runtime.h"
#include "core/ops/view.h"

#if RECGRAD_WITH_CUDA
#include "core/cuda/elementwise.h"
#include "core/cuda/fill.h"
#endif

namespace recgrad::raw {

void fill_(const Tensor& dst, double value) {
#if RECGRAD_WITH_CUDA
  if (dst.device().is_cuda()) {
    cuda::fill(dst, value);
    dst.bump_version();
    return;
  }
#endif
  RG_CHECK(dst.device().is_cpu(), "fill_: device ", dst.device(), " not supported in this build");
  visit_dtype(dst.dtype(), [&]<typename T>(T) {
    const T v = static_cast<T>(value);
    cpu::map<T>(dst, [v]() { return v; });
  });
  dst.bump_version();
}

void copy_(const Tensor& dst, const Tensor& src) {
  RG_CHECK(dst.device() == src.device(), "copy_: source on ", src.device(), " but destination on ", dst.device());
#if RECGRAD_WITH_CUDA
  if (dst.device().is_cuda()) {
    const Tensor source = expand(src, dst.shape());
    if (src.dtype() == dst.dtype() && src.shape() == dst.shape() && src.is_contiguous() && dst.is_contiguous()) {
      cuda::copy_bytes(dst.device_pointer(), dst.device(), src.device_pointer(), src.device(),
                       static_cast<std::size_t>(src.numel()) * element_size(src.dtype()), "copy_");
    } else {
      cuda::copy(dst, source);  // strided, broadcasting and/or converting
    }
    dst.bump_version();
    return;
  }
#endif
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
  if (device.is_cuda()) cuda::require_cuda_device(device, "to_device");
  // Make the data dense where it lives (a strided CPU view is gathered on the CPU, a strided CUDA
  // view by the copy kernel on its GPU), then move the bytes in one copy: through pinned staging
  // between host and device, by the copy engine between devices (core/cuda/memcpy.h).
  const Tensor dense = raw::contiguous(src);
  Tensor out = Tensor::empty(src.shape(), src.dtype(), device);
  cuda::copy_bytes(out.device_pointer(), device, dense.device_pointer(), dense.device(),
                   static_cast<std::size_t>(dense.numel()) * element_size(dense.dtype()), "to_device");
  return out;
}

}  // namespace recgrad::raw
