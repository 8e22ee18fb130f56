#include "core/storage.h"

#include <cstdlib>
#include <new>

#include "core/error.h"

namespace recgrad {

namespace {
void free_cpu(void* pointer) { std::free(pointer); }
}  // namespace

std::shared_ptr<Storage> Storage::allocate(std::size_t nbytes, Device device) {
  RG_CHECK(device.is_cpu(), "Storage::allocate: device ", device,
           " is not available in this build (CUDA backend not compiled in)");
  constexpr std::size_t alignment = 64;
  const std::size_t rounded = ((nbytes + alignment - 1) / alignment) * alignment;
  void* data = std::aligned_alloc(alignment, rounded == 0 ? alignment : rounded);
  RG_CHECK(data != nullptr, "Storage::allocate: out of host memory allocating ", nbytes, " bytes");
  return std::make_shared<Storage>(data, nbytes, device, &free_cpu);
}

Storage::Storage(void* data, std::size_t nbytes, Device device, void (*deleter)(void*))
    : data_(data), nbytes_(nbytes), device_(device), deleter_(deleter) {}

Storage::~Storage() {
  if (deleter_ != nullptr) deleter_(data_);
}

}  // namespace recgrad
