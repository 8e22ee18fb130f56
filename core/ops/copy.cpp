#include "core/ops/copy.h"

#include "core/cpu/copy.h"
#include "core/cuda/copy.h"
#include "core/cuda/memcpy.h"
#include "core/cuda/runtime.h"
#include "core/ops/view.h"

namespace recgrad::raw {

void fill_(const Tensor& dst, double value) {
  if (dst.is_cuda()) {
    cuda::fill(dst, value);
  } else {
    cpu::fill(dst, value);
  }
  dst.bump_version();
}

void copy_(const Tensor& dst, const Tensor& src) {
  RG_CHECK(dst.device() == src.device(), "copy_: source on ", src.device(), " but destination on ", dst.device());
  const Tensor source = expand(src, dst.shape());
  if (dst.is_cuda()) {
    cuda::copy(dst, source);
  } else {
    cpu::copy(dst, source);
  }
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
