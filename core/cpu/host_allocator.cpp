#include "core/cpu/host_allocator.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/error.h"

namespace recgrad::cpu {

namespace {

constexpr std::size_t kSmallAlignment = 64;
constexpr std::size_t kLargeThreshold = std::size_t{64} << 10;  // 64 KiB: glibc would mmap (or trim) these
constexpr std::size_t kMediumStep = std::size_t{64} << 10;      // size classes of cached blocks below 2 MiB
constexpr std::size_t kHugePage = std::size_t{2} << 20;         // 2 MiB
constexpr int kClassesPerOctave = 8;                            // above 2 MiB: classes 2^(1/8) apart at most
constexpr int kLargerClassesTried = 2;                          // a miss may take a block up to 2 classes larger

// Sanitizer builds bypass the cache so that use-after-free of large blocks is still caught.
#if defined(__SANITIZE_ADDRESS__)
constexpr std::size_t kDefaultCacheLimit = 0;
#else
constexpr std::size_t kDefaultCacheLimit = std::size_t{1} << 30;
#endif

std::size_t round_up(std::size_t n, std::size_t step) { return (n + step - 1) / step * step; }

// The cached size class of a large block: whole 64 KiB steps below 2 MiB; above, whole 2 MiB huge pages and at
// most an eighth of an octave apart (a block is at most 12.5% larger than asked for). Geometric classes let a
// tensor that grows a little every step (a KV cache, a batch of varying length) land in a block freed earlier.
std::size_t size_class(std::size_t nbytes) {
  if (nbytes < kHugePage) return round_up(nbytes, kMediumStep);
  std::size_t octave = kHugePage;
  while (octave * 2 <= nbytes) octave *= 2;
  return round_up(nbytes, std::max(kHugePage, octave / kClassesPerOctave));
}

// The next size class above class `size`.
std::size_t next_class(std::size_t size) { return size_class(size + 1); }

// A freed large block waiting in the cache, with the order it was freed in.
struct FreeBlock {
  void* data;
  std::uint64_t freed_at;
};

// Freed large blocks by size class (oldest first in each class), and the class of every large block handed out
// (a block may serve a request of a smaller class); guarded by `mutex`. When a freed block does not fit under the
// limit, the blocks freed longest ago make room for it: the cache follows the sizes the program uses now.
struct LargeBlockCache {
  std::mutex mutex;
  std::map<std::size_t, std::deque<FreeBlock>> free_blocks;
  std::unordered_map<void*, std::size_t> block_size;
  std::uint64_t frees = 0;
  std::size_t limit = kDefaultCacheLimit;
  HostCacheStats stats;

  // Removes the block freed longest ago and returns it (to be freed outside the lock), or nullptr when empty.
  void* evict_oldest_locked() {
    auto oldest = free_blocks.end();
    for (auto it = free_blocks.begin(); it != free_blocks.end(); ++it) {
      if (!it->second.empty() &&
          (oldest == free_blocks.end() || it->second.front().freed_at < oldest->second.front().freed_at))
        oldest = it;
    }
    if (oldest == free_blocks.end()) return nullptr;
    void* block = oldest->second.front().data;
    oldest->second.pop_front();
    stats.cached_bytes -= oldest->first;
    if (oldest->second.empty()) free_blocks.erase(oldest);
    return block;
  }

  void release_all_locked() {
    for (auto& [size, blocks] : free_blocks) {
      for (const FreeBlock& block : blocks) std::free(block.data);
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
  const std::size_t wanted = size_class(nbytes);
  LargeBlockCache& c = cache();
  {
    std::lock_guard lock(c.mutex);
    std::size_t size = wanted;
    for (int tried = 0; tried <= kLargerClassesTried; ++tried, size = next_class(size)) {
      auto it = c.free_blocks.find(size);
      if (it == c.free_blocks.end()) continue;
      void* block = it->second.back().data;  // the most recently freed: the likeliest to be in the CPU caches
      it->second.pop_back();
      if (it->second.empty()) c.free_blocks.erase(it);
      c.stats.cached_bytes -= size;
      ++c.stats.hits;
      c.block_size[block] = size;
      return block;
    }
    ++c.stats.misses;
  }
  void* block = nullptr;
  if (wanted < kHugePage) {
    block = system_allocate(kSmallAlignment, wanted);
  } else {
    block = system_allocate(kHugePage, wanted);
    madvise(block, wanted, MADV_HUGEPAGE);  // advisory: ignoring failure only costs speed
  }
  std::lock_guard lock(c.mutex);
  c.block_size[block] = wanted;
  return block;
}

void host_free(void* data, std::size_t nbytes) {
  if (data == nullptr) return;
  if (nbytes < kLargeThreshold) {
    std::free(data);
    return;
  }
  LargeBlockCache& c = cache();
  std::vector<void*> evicted;  // given back to the system outside the lock (freeing a huge block may munmap)
  {
    std::lock_guard lock(c.mutex);
    const auto owned = c.block_size.find(data);
    if (owned == c.block_size.end()) {  // not one of ours (cannot happen through Storage): the system's to free
      evicted.push_back(data);
    } else {
      const std::size_t size = owned->second;
      c.block_size.erase(owned);
      if (size > c.limit) {
        evicted.push_back(data);
      } else {
        while (c.stats.cached_bytes + size > c.limit) evicted.push_back(c.evict_oldest_locked());
        c.free_blocks[size].push_back({data, c.frees++});
        c.stats.cached_bytes += size;
      }
    }
  }
  for (void* block : evicted) std::free(block);
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
  std::vector<void*> evicted;
  {
    std::lock_guard lock(c.mutex);
    c.limit = bytes;
    while (c.stats.cached_bytes > c.limit) evicted.push_back(c.evict_oldest_locked());
  }
  for (void* block : evicted) std::free(block);
}

}  // namespace recgrad::cpu
