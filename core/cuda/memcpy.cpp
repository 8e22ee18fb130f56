#include "core/cuda/memcpy.h"

#include "core/cuda/runtime.h"
#include "core/error.h"

#if RECGRAD_WITH_CUDA
#include "core/cuda/runtime_check.h"
#endif

namespace recgrad::cuda {

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, std::size_t nbytes, const char* op) {
  RG_CHECK(dst_device.is_cuda() || src_device.is_cuda(), op, ": copy_bytes is for CUDA copies, got ", src_device,
           " -> ", dst_device);
  if (dst_device.is_cuda()) require_cuda_device(dst_device, op);
  if (src_device.is_cuda()) require_cuda_device(src_device, op);
  if (nbytes == 0) return;
#if RECGRAD_WITH_CUDA
  const cudaMemcpyKind kind = src_device.is_cpu()   ? cudaMemcpyHostToDevice
                              : dst_device.is_cpu() ? cudaMemcpyDeviceToHost
                                                    : cudaMemcpyDeviceToDevice;
  const DeviceGuard guard(dst_device.is_cuda() ? dst_device.index : src_device.index, op);
  RG_CUDA_CHECK(cudaMemcpy(dst, src, nbytes, kind), op);
#else
  (void)dst;
  (void)src;
#endif
}

}  // namespace recgrad::cuda
