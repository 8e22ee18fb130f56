// The device allocator of a build without the CUDA backend: allocating throws the "no CUDA device"
// Error, the statistics stay zero.
#include "core/cuda/caching_allocator.h"
#include "core/cuda/runtime.h"

namespace recgrad::cuda {

void* device_allocate(std::size_t /*nbytes*/, Device device) {
  require_cuda_device(device, "Storage::allocate");
  return nullptr;  // unreachable: require_cuda_device throws without CUDA
}

void device_free(void* /*ptr*/, std::size_t /*nbytes*/) {}

CudaMemoryStats cuda_memory_stats(Device device) {
  RG_CHECK(device.is_cuda(), "cuda_memory_stats: expected a CUDA device, got ", device);
  return {};
}

void cuda_reset_peak(Device device) {
  RG_CHECK(device.is_cuda(), "cuda_reset_peak: expected a CUDA device, got ", device);
}

void cuda_empty_cache() {}

}  // namespace recgrad::cuda
