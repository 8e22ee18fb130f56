// Storage: one owned block of memory on a device, shared by every tensor view
// of it. It also carries the version counter that autograd uses to detect an
// in-place change to a tensor saved for backward.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/device.h"

namespace recgrad {

/// A block of `nbytes` bytes on `device`, freed when the last view drops it.
class Storage {
 public:
  /// Allocates `nbytes` uninitialised bytes (64-byte aligned on the CPU).
  static std::shared_ptr<Storage> allocate(std::size_t nbytes, Device device);

  /// Takes ownership of `data`; `deleter(data, nbytes)` frees it.
  Storage(void* data, std::size_t nbytes, Device device, void (*deleter)(void*, std::size_t));
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  std::size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

  /// Incremented by every in-place write through any view of this storage.
  std::uint64_t version() const { return version_; }
  void bump_version() { ++version_; }

 private:
  void* data_;
  std::size_t nbytes_;
  Device device_;
  void (*deleter_)(void*, std::size_t);
  std::uint64_t version_ = 0;
};

}  // namespace recgrad
