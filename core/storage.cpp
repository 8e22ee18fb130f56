#include "core/storage.h"

#include "core/cpu/host_allocator.h"
#include "core/cuda/caching_allocator.h"
#include "core/error.h"

namespace recgrad {

std::shared_ptr<Storage> Storage::allocate(std::size_t nbytes, Device device) {
  if (device.is_cuda()) {
    // Throws "CUDA requested (cuda:i) but no CUDA device/driver is available: <reason>" without a GPU.
    return std::make_shared<Storage>(cuda::device_allocate(nbytes, device), nbytes, device, &cuda::device_free);
  }
  return std::make_shared<Storage>(cpu::host_allocate(nbytes), nbytes, device, &cpu::host_free);
}

Storage::Storage(void* data, std::size_t nbytes, Device device, void (*deleter)(void*, std::size_t))
    : data_(data), nbytes_(nbytes), device_(device), deleter_(deleter) {}

Storage::~Storage() {
  if (deleter_ != nullptr) deleter_(data_, nbytes_);
}

}  // namespace recgrad
