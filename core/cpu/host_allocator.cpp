#include "core/cpu/host_allocator.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

#include "core/error.h"

namespace recgrad::cpu {

namespace {

constexpr std::size_t kSmallAlignment = 64;
constexpr std::size_t kLargeThreshold = std::size_t{64} << 10;  // 64 KiB: glibc would mmap (or trim) these
constexpr std::size_t kMediumStep = std::size_t{64} << 10;      // size classes of cached blocks below 2 MiB
constexpr std::size_t kHugePage = std::size_t{2} << 20;         // 2 MiB

// Sanitizer builds bypass the cache so that use-after-free of large blocks is still caught.
#if defined(__SANITIZE_ADDRESS__)
constexpr std::size_t kDefaultCacheLimit = 0;
#else
constexpr std::size_t kDefaultCacheLimit = std::size_t{1} << 30;
#endif

std::size_t round_up(std::size_t n, std::size_t step) { return (n + step - 1) / step * step; }

// The cached size class of a large block: whole 64 KiB steps below 2 MiB, whole 2 MiB huge pages above.
std::size_t size_class(std::size_t nbytes) { return round_up(nbytes, nbytes < kHugePage ? kMediumStep : kHugePage); }

// Freed large blocks by rounded size; guarded by `mutex`.
struct LargeBlockCache {
  std::mutex mutex;
  std::map<std::size_t, std::vector<void*>> free_blocks;
  std::size_t limit = kDefaultCacheLimit;
  HostCacheStats stats;

  void release_all_locked() {
    for (auto& [size, blocks] : free_blocks) {
      for (void* block : blocks) std::free(block);
    }
    free_blocks.clear();
    stats.cached_bytes = 0;
  }
};

LargeBlockCache& cache() {
  static LargeBlockCache* instance = new LargeBlockCache();  // never destroyed: safe at exit
  return *instance;
}

void* system_allocate(std::size_t alignment, std::size_t nbytes) {
  void* data = std::aligned_alloc(alignment, nbytes);
  RG_CHECK(data != nullptr, "host allocator: out of host memory allocating ", nbytes, " bytes");
  return data;
}

}  // namespace

void* host_allocate(std::size_t nbytes) {
  if (nbytes < kLargeThreshold)
    return system_allocate(kSmallAlignment, round_up(std::max<std::size_t>(nbytes, 1), kSmallAlignment));
  const std::size_t size = size_class(nbytes);
  LargeBlockCache& c = cache();
  {
    std::lock_guard lock(c.mutex);
    auto it = c.free_blocks.find(size);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      void* block = it->second.back();
      it->second.pop_back();
      c.stats.cached_bytes -= size;
      ++c.stats.hits;
      return block;
    }
    ++c.stats.misses;
  }
  if (size < kHugePage) return system_allocate(kSmallAlignment, size);
  void* block = system_allocate(kHugePage, size);
  madvise(block, size, MADV_HUGEPAGE);  // advisory: ignoring failure only costs speed
  return block;
}

void host_free(void* data, std::size_t nbytes) {
  if (data == nullptr) return;
  if (nbytes < kLargeThreshold) {
    std::free(data);
    return;
  }
  const std::size_t size = size_class(nbytes);
  LargeBlockCache& c = cache();
  {
    std::lock_guard lock(c.mutex);
    if (c.stats.cached_bytes + size <= c.limit) {
      c.free_blocks[size].push_back(data);
      c.stats.cached_bytes += size;
      return;
    }
  }
  std::free(data);
}

HostCacheStats host_cache_stats() {
  std::lock_guard lock(cache().mutex);
  return cache().stats;
}

void host_empty_cache() {
  std::lock_guard lock(cache().mutex);
  cache().release_all_locked();
}

void host_set_cache_limit(std::size_t bytes) {
  LargeBlockCache& c = cache();
  std::lock_guard lock(c.mutex);
  c.limit = bytes;
  if (c.stats.cached_bytes > c.limit) c.release_all_locked();
}

}  // namespace recgrad::cpu
