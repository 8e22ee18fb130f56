// Pinned staging in a build without the CUDA backend: copies throw the "no CUDA device" Error, the
// statistics stay zero.
#include "core/cuda/pinned.h"
#include "core/cuda/runtime.h"

namespace recgrad::cuda {

void staged_host_to_device(void* /*dst*/, const void* /*src*/, std::size_t /*nbytes*/, int device, const char* op) {
  require_cuda_device(Device::cuda(device), op);
}

void staged_device_to_host(void* /*dst*/, const void* /*src*/, std::size_t /*nbytes*/, int device, const char* op) {
  require_cuda_device(Device::cuda(device), op);
}

PinnedStagingStats pinned_staging_stats() { return {}; }

void release_pinned_staging() {}

}  // namespace recgrad::cuda
