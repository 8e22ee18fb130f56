#include "core/cuda/caching_allocator.h"

#include <memory>

#include "core/cuda/runtime.h"

#include "core/cuda/runtime_check.h"

namespace recgrad::cuda {
namespace {

/// cudaMalloc/cudaFree on one device (made current for the call, then restored).
class CudaBackend {
 public:
  explicit CudaBackend(int device = 0) : device_(device) {}

  bool try_malloc(void** ptr, std::size_t bytes) {
    const DeviceGuard guard(device_, "CUDA allocator");
    const cudaError_t status = cudaMalloc(ptr, bytes);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();  // clear it: out-of-memory is answered by the caller
      return false;
    }
    RG_CUDA_CHECK(status, "CUDA allocator (cudaMalloc)");
    return true;
  }
  void free(void* ptr) {
    const DeviceGuard guard(device_, "CUDA allocator");
    RG_CUDA_CHECK(cudaFree(ptr), "CUDA allocator (cudaFree)");
  }

 private:
  int device_;
};

using DeviceAllocator = CachingAllocator<CudaBackend>;

/// One allocator per device, created on first use and never destroyed (tensors held by static
/// objects may be freed after main returns; the driver reclaims device memory at exit).
std::vector<DeviceAllocator*>& allocators() {
  static auto* table = [] {
    auto* t = new std::vector<DeviceAllocator*>();
    for (int d = 0; d < cuda_device_count(); ++d) {
      t->push_back(new DeviceAllocator(CudaBackend(d), detail::concat("CUDA allocator (cuda:", d, ")")));
    }
    return t;
  }();
  return *table;
}

}  // namespace

void* device_allocate(std::size_t nbytes, Device device) {
  require_cuda_device(device, "Storage::allocate");
  return allocators()[device.index]->allocate(nbytes);
}

void device_free(void* ptr, std::size_t /*nbytes*/) {
  if (ptr == nullptr) return;
  for (DeviceAllocator* allocator : allocators()) {
    if (allocator->deallocate(ptr)) return;
  }
}

CudaMemoryStats cuda_memory_stats(Device device) {
  RG_CHECK(device.is_cuda(), "cuda_memory_stats: expected a CUDA device, got ", device);
  if (device.index >= 0 && device.index < cuda_device_count()) return allocators()[device.index]->stats();
  return {};
}

void cuda_reset_peak(Device device) {
  RG_CHECK(device.is_cuda(), "cuda_reset_peak: expected a CUDA device, got ", device);
  if (device.index >= 0 && device.index < cuda_device_count()) allocators()[device.index]->reset_peak();
}

void cuda_empty_cache() {
  if (!cuda_available()) return;
  for (DeviceAllocator* allocator : allocators()) allocator->empty_cache();
}

}  // namespace recgrad::cuda
