#include "core/cuda/memcpy.h"

#include "core/cuda/pinned.h"
#include "core/cuda/runtime.h"
#include "core/error.h"

#include "core/cuda/runtime_check.h"

namespace recgrad::cuda {

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, std::size_t nbytes, const char* op) {
  RG_CHECK(dst_device.is_cuda() || src_device.is_cuda(), op, ": copy_bytes is for CUDA copies, got ", src_device,
           " -> ", dst_device);
  if (dst_device.is_cuda()) require_cuda_device(dst_device, op);
  if (src_device.is_cuda()) require_cuda_device(src_device, op);
  if (nbytes == 0) return;
  if (src_device.is_cpu()) return staged_host_to_device(dst, src, nbytes, dst_device.index, op);
  if (dst_device.is_cpu()) return staged_device_to_host(dst, src, nbytes, src_device.index, op);
  if (src_device == dst_device) {
    // On one GPU: the copy engine, ordered with the kernels on the stream (stream() of
    // core/cuda/runtime_check.h); the host does not wait.
    const DeviceGuard guard(dst_device.index, op);
    RG_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToDevice, stream()), op);
    return;
  }
  // Between two GPUs: cudaMemcpyPeer runs after the work already issued on both devices and before
  // any work issued later on either, so neither side can reuse the memory too early.
  RG_CUDA_CHECK(cudaMemcpyPeer(dst, dst_device.index, src, src_device.index, nbytes), op);
}

void synchronize(Device device) {
  require_cuda_device(device, "synchronize");
  const DeviceGuard guard(device.index, "synchronize");
  RG_CUDA_CHECK(cudaDeviceSynchronize(), "synchronize");
}

}  // namespace recgrad::cuda
