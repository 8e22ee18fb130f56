// Pinned (page-locked) host staging for copies between host and device memory.
//
// A GPU's copy engine reads and writes host memory by DMA, which needs pages the operating
// system cannot move. Ordinary (pageable) memory does not qualify, so cudaMemcpy from it copies
// through a small driver buffer and waits for each piece. recgrad keeps its own staging instead:
// per device, a ring of kStagingBlocks pinned blocks of kStagingBlockBytes each, allocated on
// first use (cudaHostAlloc is slow) and reused by every later copy.
//
//   host -> device: for each chunk of the source, wait until its block is free (the CUDA event
//     recorded after that block's previous copy has completed), memcpy the chunk into the block,
//     cudaMemcpyAsync it to the device on the copy stream and record the block's event. The call
//     returns once the last chunk is staged: the source may then be changed or freed, while the
//     DMA still runs, ordered before every later kernel on the stream.
//   device -> host: cudaMemcpyAsync up to kStagingBlocks chunks into the blocks, then chunk by
//     chunk wait for the block's event, memcpy the chunk out and refill the block with the chunk
//     kStagingBlocks further on. The call returns when every byte is in the destination.
//
// Copies to or from one device hold that device's ring for their whole duration (a mutex), so
// threads copying at the same time take turns. The functions exist in every build; without CUDA
// compiled in they throw the "no CUDA device" Error (and the statistics stay zero).
#pragma once

#include <cstddef>

namespace recgrad::cuda {

/// Bytes of one pinned staging block (a copy larger than this goes through the ring in chunks).
constexpr std::size_t kStagingBlockBytes = std::size_t{4} << 20;
/// Pinned blocks per device: while the copy engine moves one chunk, the host fills the next.
constexpr int kStagingBlocks = 4;

/// Copies `nbytes` from host memory `src` (pageable or not) to `dst` in the memory of CUDA device
/// `device`, through the pinned staging ring. Returns once `src` has been read; the device copy is
/// asynchronous, ordered on the copy stream. Errors name `op`.
void staged_host_to_device(void* dst, const void* src, std::size_t nbytes, int device, const char* op);
/// Copies `nbytes` from `src` in the memory of CUDA device `device` to host memory `dst`, through
/// the pinned staging ring, after every kernel already issued on the stream. Returns when done.
void staged_device_to_host(void* dst, const void* src, std::size_t nbytes, int device, const char* op);

/// What the staging rings of all devices hold and have done.
struct PinnedStagingStats {
  std::size_t blocks = 0;          // pinned blocks allocated now
  std::size_t reserved_bytes = 0;  // their total size (blocks * kStagingBlockBytes)
  std::size_t chunks_staged = 0;   // chunks that went through a block, both directions, since start
};

/// Statistics of the staging rings (all zero before the first copy or without CUDA).
PinnedStagingStats pinned_staging_stats();
/// Waits for the copies in flight through the staging blocks, then frees every block (the next copy
/// allocates them again). For tests and for programs that want the pinned memory back.
void release_pinned_staging();

}  // namespace recgrad::cuda
