// Host memory for tensors. Small blocks come straight from the C heap (64-byte
// aligned). Large blocks (>= 64 KiB, the sizes glibc serves with mmap or gives
// back by trimming) are rounded up to a size class (64 KiB steps below 2 MiB;
// above, whole 2 MiB huge pages marked MADV_HUGEPAGE, classes at most 1/8 of an
// octave apart) and kept in a bounded cache when freed (the blocks freed longest
// ago leave first when it is full). A request takes a cached
// block of its class or of one of the next two, so a training loop whose
// activation sizes vary a little from step to step (batches of varying length,
// a KV cache growing by a token) reuses warm memory instead of paying the kernel
// to fault in and zero fresh pages each time.
#pragma once

#include <cstddef>

namespace recgrad::cpu {

/// Returns at least `nbytes` bytes, 64-byte aligned. Throws recgrad::Error when out of memory.
void* host_allocate(std::size_t nbytes);
/// Gives back a block from host_allocate (with the same `nbytes`).
void host_free(void* data, std::size_t nbytes);

/// What the large-block cache holds now.
struct HostCacheStats {
  std::size_t cached_bytes = 0;  // freed large blocks kept for reuse
  std::size_t hits = 0;          // large allocations served from the cache
  std::size_t misses = 0;        // large allocations that went to the system
};
HostCacheStats host_cache_stats();
/// Releases every cached block to the system.
void host_empty_cache();
/// Caps the cache (default 1 GiB; 0 disables caching). Shrinks it when needed, giving back the blocks freed
/// longest ago; a freed block that does not fit under the cap evicts the same way.
void host_set_cache_limit(std::size_t bytes);

}  // namespace recgrad::cpu
