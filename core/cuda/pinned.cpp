#include "core/cuda/pinned.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <mutex>
#include <vector>

#include "core/cuda/runtime.h"
#include "core/error.h"

#include "core/cuda/runtime_check.h"

namespace recgrad::cuda {
namespace {

/// One pinned block and the event recorded after the last copy that used it.
struct StagingBlock {
  void* host = nullptr;        // kStagingBlockBytes of page-locked memory; null until first used
  cudaEvent_t done = nullptr;  // completes when the block's last copy has; never recorded = complete
};

/// One device's staging ring. `mutex` is held for a whole copy.
struct StagingRing {
  int device = 0;
  std::mutex mutex;
  std::array<StagingBlock, kStagingBlocks> blocks;
  std::size_t next = 0;  // the block the next host->device chunk uses (round robin)
};

/// Counters behind pinned_staging_stats().
struct Counters {
  std::mutex mutex;
  PinnedStagingStats stats;
};

Counters& counters() {
  static auto* c = new Counters();  // never destroyed, like the rings
  return *c;
}

void count(std::size_t blocks_allocated, std::size_t blocks_freed, std::size_t chunks) {
  Counters& c = counters();
  const std::lock_guard<std::mutex> lock(c.mutex);
  c.stats.blocks = c.stats.blocks + blocks_allocated - blocks_freed;
  c.stats.reserved_bytes = c.stats.blocks * kStagingBlockBytes;
  c.stats.chunks_staged += chunks;
}

/// One ring per device, created on first use and never destroyed: copies may run from destructors
/// of static objects after main returns, and the driver reclaims pinned memory at exit.
std::vector<StagingRing*>& rings() {
  static auto* table = [] {
    auto* t = new std::vector<StagingRing*>();
    for (int d = 0; d < cuda_device_count(); ++d) {
      t->push_back(new StagingRing());
      t->back()->device = d;
    }
    return t;
  }();
  return *table;
}

StagingRing& ring_of(int device, const char* op) {
  require_cuda_device(Device::cuda(device), op);
  return *rings()[static_cast<std::size_t>(device)];
}

/// Makes `block` safe to overwrite (host side) or refill (device side): allocates it on first use,
/// otherwise waits until the copy that last used it has completed. The ring's device is current.
void make_ready(StagingBlock& block, const char* op) {
  if (block.host != nullptr) {
    RG_CUDA_CHECK(cudaEventSynchronize(block.done), op);
    return;
  }
  cudaEvent_t event = nullptr;
  RG_CUDA_CHECK(cudaEventCreateWithFlags(&event, cudaEventDisableTiming), op);
  void* host = nullptr;
  const cudaError_t status = cudaHostAlloc(&host, kStagingBlockBytes, cudaHostAllocDefault);
  if (status != cudaSuccess) {
    cudaEventDestroy(event);
    RG_CUDA_CHECK(status, op);
  }
  block.host = host;
  block.done = event;
  count(1, 0, 0);
}

/// Size of chunk `c` of a copy of `nbytes` cut into kStagingBlockBytes pieces.
std::size_t chunk_bytes(std::size_t c, std::size_t nbytes) {
  return std::min(kStagingBlockBytes, nbytes - c * kStagingBlockBytes);
}

}  // namespace

void staged_host_to_device(void* dst, const void* src, std::size_t nbytes, int device, const char* op) {
  StagingRing& ring = ring_of(device, op);
  if (nbytes == 0) return;
  const std::lock_guard<std::mutex> lock(ring.mutex);
  const DeviceGuard guard(device, op);
  auto* to = static_cast<char*>(dst);
  const auto* from = static_cast<const char*>(src);
  const std::size_t chunks = (nbytes + kStagingBlockBytes - 1) / kStagingBlockBytes;
  for (std::size_t c = 0; c < chunks; ++c) {
    StagingBlock& block = ring.blocks[ring.next];
    ring.next = (ring.next + 1) % kStagingBlocks;
    make_ready(block, op);  // the block's previous DMA has read it: overwrite it
    const std::size_t offset = c * kStagingBlockBytes, size = chunk_bytes(c, nbytes);
    std::memcpy(block.host, from + offset, size);
    RG_CUDA_CHECK(cudaMemcpyAsync(to + offset, block.host, size, cudaMemcpyHostToDevice, stream()), op);
    RG_CUDA_CHECK(cudaEventRecord(block.done, stream()), op);
  }
  count(0, 0, chunks);
}

void staged_device_to_host(void* dst, const void* src, std::size_t nbytes, int device, const char* op) {
  StagingRing& ring = ring_of(device, op);
  if (nbytes == 0) return;
  const std::lock_guard<std::mutex> lock(ring.mutex);
  const DeviceGuard guard(device, op);
  auto* to = static_cast<char*>(dst);
  const auto* from = static_cast<const char*>(src);
  const std::size_t chunks = (nbytes + kStagingBlockBytes - 1) / kStagingBlockBytes;
  // Chunk c travels through block c % kStagingBlocks.
  const auto issue = [&](std::size_t c) {
    StagingBlock& block = ring.blocks[c % kStagingBlocks];
    make_ready(block, op);  // no earlier host->device copy still reads the block
    const std::size_t offset = c * kStagingBlockBytes;
    RG_CUDA_CHECK(cudaMemcpyAsync(block.host, from + offset, chunk_bytes(c, nbytes), cudaMemcpyDeviceToHost, stream()),
                  op);
    RG_CUDA_CHECK(cudaEventRecord(block.done, stream()), op);
  };
  for (std::size_t c = 0; c < std::min<std::size_t>(chunks, kStagingBlocks); ++c) issue(c);
  for (std::size_t c = 0; c < chunks; ++c) {
    StagingBlock& block = ring.blocks[c % kStagingBlocks];
    RG_CUDA_CHECK(cudaEventSynchronize(block.done), op);  // chunk c has arrived in the block
    std::memcpy(to + c * kStagingBlockBytes, block.host, chunk_bytes(c, nbytes));
    if (c + kStagingBlocks < chunks) issue(c + kStagingBlocks);
  }
  count(0, 0, chunks);
}

PinnedStagingStats pinned_staging_stats() {
  Counters& c = counters();
  const std::lock_guard<std::mutex> lock(c.mutex);
  return c.stats;
}

void release_pinned_staging() {
  if (!cuda_available()) return;
  constexpr const char* op = "release_pinned_staging";
  for (StagingRing* ring : rings()) {
    const std::lock_guard<std::mutex> lock(ring->mutex);
    const DeviceGuard guard(ring->device, op);
    for (StagingBlock& block : ring->blocks) {
      if (block.host == nullptr) continue;
      RG_CUDA_CHECK(cudaEventSynchronize(block.done), op);
      RG_CUDA_CHECK(cudaFreeHost(block.host), op);
      block.host = nullptr;
      cudaEventDestroy(block.done);
      block.done = nullptr;
      count(0, 1, 0);
    }
    ring->next = 0;
  }
}

}  // namespace recgrad::cuda
