// The device caching allocator. cudaMalloc/cudaFree synchronise the device and
// cost tens of microseconds, so freed blocks are kept in per-size free lists
// and handed out again: a training loop that allocates the same activation
// sizes every step calls cudaMalloc only during its first step.
//
// The policy (size rounding, free lists, statistics, the out-of-memory retry)
// is the template CachingAllocator<Backend>; the backend only mallocs and frees.
// The library instantiates it with cudaMalloc/cudaFree, one per device; the
// tests instantiate it with a fake backend, so the policy is tested without a GPU.
//
// Later steps (issue 3): split large segments and best-fit search, stream-ordered
// reuse across streams, pinned host staging.
#pragma once

#include <algorithm>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/device.h"
#include "core/error.h"

namespace recgrad::cuda {

/// Byte counts of one device's caching allocator.
struct CudaMemoryStats {
  std::size_t current_bytes = 0;   // in blocks handed out now (rounded sizes)
  std::size_t peak_bytes = 0;      // max of current_bytes since start or cuda_reset_peak()
  std::size_t reserved_bytes = 0;  // held from the backend (cudaMalloc): in use + cached
  std::size_t num_mallocs = 0;     // successful backend allocations
  std::size_t num_cache_hits = 0;  // allocations served from a free list
};

/// Block size for a request: multiples of 512 B below 1 MiB, of 2 MiB from there on
/// (so large activations of slightly different sizes share blocks). 0 stays 0.
inline std::size_t round_block_size(std::size_t nbytes) {
  constexpr std::size_t small_unit = 512, large_unit = std::size_t{2} << 20, large_from = std::size_t{1} << 20;
  const std::size_t unit = nbytes < large_from ? small_unit : large_unit;
  RG_CHECK(nbytes <= static_cast<std::size_t>(-1) - unit, "CUDA allocator: request of ", nbytes, " bytes is too large");
  return (nbytes + unit - 1) / unit * unit;
}

/// Backend requirements: `bool try_malloc(void** ptr, std::size_t bytes)` returns false on
/// out-of-memory (and throws recgrad::Error on any other failure); `void free(void* ptr)`.
template <typename Backend>
class CachingAllocator {
 public:
  explicit CachingAllocator(Backend backend = {}, std::string name = "cuda")
      : backend_(std::move(backend)), name_(std::move(name)) {}
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  /// A block of at least `nbytes` bytes (nullptr for 0). Reuses a cached block of the same
  /// rounded size if there is one; otherwise mallocs; on out-of-memory frees every cached
  /// block and retries once, then throws recgrad::Error with the requested, reserved and
  /// in-use bytes.
  void* allocate(std::size_t nbytes) {
    if (nbytes == 0) return nullptr;
    const std::size_t size = round_block_size(nbytes);
    std::lock_guard<std::mutex> lock(mutex_);
    void* ptr = nullptr;
    if (auto it = free_blocks_.find(size); it != free_blocks_.end() && !it->second.empty()) {
      ptr = it->second.back();
      it->second.pop_back();
      cached_bytes_ -= size;
      ++stats_.num_cache_hits;
    } else {
      if (!backend_.try_malloc(&ptr, size)) {
        release_cached_blocks();
        RG_CHECK(backend_.try_malloc(&ptr, size), name_, ": out of memory: tried to allocate ", nbytes,
                 " bytes (block of ", size, " bytes); reserved ", stats_.reserved_bytes, " bytes, in use ",
                 stats_.current_bytes, " bytes (the cache was emptied and the allocation retried)");
      }
      stats_.reserved_bytes += size;
      ++stats_.num_mallocs;
    }
    active_blocks_.emplace(ptr, size);
    stats_.current_bytes += size;
    stats_.peak_bytes = std::max(stats_.peak_bytes, stats_.current_bytes);
    return ptr;
  }

  /// Returns `ptr` to its free list (no backend call, never throws). False when `ptr` did not
  /// come from this allocator (nullptr is accepted and ignored, returning true).
  bool deallocate(void* ptr) noexcept {
    if (ptr == nullptr) return true;
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = active_blocks_.find(ptr);
    if (it == active_blocks_.end()) return false;
    const std::size_t size = it->second;
    active_blocks_.erase(it);
    stats_.current_bytes -= size;
    try {
      free_blocks_[size].push_back(ptr);
      cached_bytes_ += size;
    } catch (...) {  // no memory for the free list: give the block back instead
      try {
        backend_.free(ptr);
        stats_.reserved_bytes -= size;
      } catch (...) {
      }
    }
    return true;
  }

  /// Gives every cached (free) block back to the backend; blocks in use stay.
  void empty_cache() {
    std::lock_guard<std::mutex> lock(mutex_);
    release_cached_blocks();
  }

  CudaMemoryStats stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }
  /// Bytes in free lists (reserved_bytes - current_bytes).
  std::size_t cached_bytes() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return cached_bytes_;
  }
  /// Restarts peak tracking from the current usage.
  void reset_peak() {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.peak_bytes = stats_.current_bytes;
  }

  Backend& backend() { return backend_; }

 private:
  void release_cached_blocks() {
    for (auto& [size, blocks] : free_blocks_) {
      while (!blocks.empty()) {
        backend_.free(blocks.back());
        blocks.pop_back();
        stats_.reserved_bytes -= size;
        cached_bytes_ -= size;
      }
    }
    free_blocks_.clear();
  }

  Backend backend_;
  std::string name_;
  mutable std::mutex mutex_;
  std::map<std::size_t, std::vector<void*>> free_blocks_;  // rounded size -> cached blocks
  std::unordered_map<void*, std::size_t> active_blocks_;   // block in use -> rounded size
  std::size_t cached_bytes_ = 0;
  CudaMemoryStats stats_;
};

/// Device memory for Storage: throws the "CUDA requested ... not available" Error without a GPU.
void* device_allocate(std::size_t nbytes, Device device);
/// Storage's deleter for device memory: returns the block to its allocator's cache.
void device_free(void* ptr, std::size_t nbytes);

/// Statistics of `device`'s allocator (all zero when CUDA is unavailable or nothing was allocated).
CudaMemoryStats cuda_memory_stats(Device device = Device::cuda(0));
/// Restarts peak tracking of `device`'s allocator from its current usage.
void cuda_reset_peak(Device device = Device::cuda(0));
/// Frees every cached block of every device back to the driver.
void cuda_empty_cache();

}  // namespace recgrad::cuda
