// The CUDA caching allocator's policy (size rounding, free lists, statistics,
// the out-of-memory retry), run against a fake backend so no GPU is needed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>
#include <thread>

#include "core/cuda/caching_allocator.h"

using namespace recgrad;
using cuda::CachingAllocator;
using cuda::round_block_size;

namespace {

/// Host malloc standing in for cudaMalloc, with a byte limit that makes it run out.
struct FakeBackend {
  FakeBackend() = default;
  explicit FakeBackend(std::size_t byte_limit) : limit(byte_limit) {}

  std::size_t limit = std::size_t{1} << 40;
  std::size_t held = 0;  // bytes malloc'ed and not freed
  int malloc_calls = 0;  // every attempt, failed or not
  int free_calls = 0;
  std::map<void*, std::size_t> live;  // block -> bytes

  bool try_malloc(void** ptr, std::size_t bytes) {
    ++malloc_calls;
    if (held + bytes > limit) return false;
    *ptr = std::malloc(bytes);
    held += bytes;
    live.emplace(*ptr, bytes);
    return true;
  }
  void free(void* ptr) {
    const auto it = live.find(ptr);
    ASSERT_NE(it, live.end()) << "freed a block the backend never handed out";
    held -= it->second;
    live.erase(it);
    ++free_calls;
    std::free(ptr);
  }
};

/// Frees whatever the fake still holds when a test ends.
struct Allocator : CachingAllocator<FakeBackend> {
  using CachingAllocator<FakeBackend>::CachingAllocator;
  ~Allocator() {
    empty_cache();
    EXPECT_TRUE(backend().live.empty()) << "blocks still in use at the end of the test";
    for (const auto& [ptr, bytes] : backend().live) std::free(ptr);
  }
};

constexpr std::size_t MiB = std::size_t{1} << 20;

}  // namespace

TEST(CudaAllocatorPolicy, RoundsSmallTo512BytesAndLargeTo2MiB) {
  EXPECT_EQ(round_block_size(0), 0u);
  EXPECT_EQ(round_block_size(1), 512u);
  EXPECT_EQ(round_block_size(512), 512u);
  EXPECT_EQ(round_block_size(513), 1024u);
  EXPECT_EQ(round_block_size(MiB - 1), MiB);
  EXPECT_EQ(round_block_size(MiB), 2 * MiB);
  EXPECT_EQ(round_block_size(2 * MiB + 1), 4 * MiB);
  EXPECT_THROW(round_block_size(static_cast<std::size_t>(-1)), Error);
}

TEST(CudaAllocatorPolicy, FreedBlocksAreReusedWithoutMalloc) {
  Allocator allocator;
  void* a = allocator.allocate(1000);  // 1024-byte block
  EXPECT_EQ(allocator.backend().malloc_calls, 1);
  EXPECT_TRUE(allocator.deallocate(a));
  EXPECT_EQ(allocator.backend().free_calls, 0);  // cached, not freed
  EXPECT_EQ(allocator.cached_bytes(), 1024u);
  void* b = allocator.allocate(600);  // same 1024-byte class
  EXPECT_EQ(b, a);
  EXPECT_EQ(allocator.backend().malloc_calls, 1);
  void* c = allocator.allocate(2000);  // another class: a new block
  EXPECT_NE(c, a);
  EXPECT_EQ(allocator.backend().malloc_calls, 2);
  const cuda::CudaMemoryStats stats = allocator.stats();
  EXPECT_EQ(stats.num_mallocs, 2u);
  EXPECT_EQ(stats.num_cache_hits, 1u);
  EXPECT_EQ(stats.current_bytes, 1024u + 2048u);
  EXPECT_EQ(stats.reserved_bytes, 1024u + 2048u);
  allocator.deallocate(b);
  allocator.deallocate(c);
}

TEST(CudaAllocatorPolicy, StatisticsTrackCurrentPeakAndReserved) {
  Allocator allocator;
  void* a = allocator.allocate(3 * MiB);  // 4 MiB
  void* b = allocator.allocate(100);      // 512 B
  EXPECT_EQ(allocator.stats().current_bytes, 4 * MiB + 512);
  EXPECT_EQ(allocator.stats().peak_bytes, 4 * MiB + 512);
  allocator.deallocate(a);
  cuda::CudaMemoryStats stats = allocator.stats();
  EXPECT_EQ(stats.current_bytes, 512u);
  EXPECT_EQ(stats.peak_bytes, 4 * MiB + 512);      // the peak stays
  EXPECT_EQ(stats.reserved_bytes, 4 * MiB + 512);  // the freed block is cached, still reserved
  allocator.reset_peak();
  EXPECT_EQ(allocator.stats().peak_bytes, 512u);
  void* c = allocator.allocate(MiB);  // 2 MiB, a new size: malloc
  EXPECT_EQ(allocator.stats().peak_bytes, 2 * MiB + 512);
  allocator.empty_cache();  // frees the cached 4 MiB block, keeps the ones in use
  stats = allocator.stats();
  EXPECT_EQ(stats.reserved_bytes, 2 * MiB + 512);
  EXPECT_EQ(stats.current_bytes, 2 * MiB + 512);
  EXPECT_EQ(allocator.backend().held, 2 * MiB + 512);
  EXPECT_EQ(allocator.backend().free_calls, 1);
  allocator.deallocate(b);
  allocator.deallocate(c);
  EXPECT_EQ(allocator.stats().current_bytes, 0u);
}

TEST(CudaAllocatorPolicy, OutOfMemoryEmptiesTheCacheAndRetriesOnce) {
  Allocator allocator(FakeBackend(8 * MiB));
  void* a = allocator.allocate(4 * MiB);
  void* b = allocator.allocate(2 * MiB);
  allocator.deallocate(a);  // 4 MiB cached
  // 6 MiB does not fit next to the 6 MiB held; freeing the cached 4 MiB makes room.
  void* c = allocator.allocate(6 * MiB);
  EXPECT_NE(c, nullptr);
  EXPECT_EQ(allocator.backend().malloc_calls, 4);  // a, b, failed c, retried c
  EXPECT_EQ(allocator.backend().free_calls, 1);
  EXPECT_EQ(allocator.stats().reserved_bytes, 8 * MiB);
  EXPECT_EQ(allocator.cached_bytes(), 0u);
  allocator.deallocate(b);
  allocator.deallocate(c);
}

TEST(CudaAllocatorPolicy, OutOfMemoryAfterRetryThrowsWithTheSizes) {
  Allocator allocator(FakeBackend(8 * MiB), "CUDA allocator (cuda:0)");
  void* a = allocator.allocate(6 * MiB);
  try {
    allocator.allocate(3 * MiB);
    ADD_FAILURE() << "expected an out-of-memory Error";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("CUDA allocator (cuda:0)"), std::string::npos) << message;
    EXPECT_NE(message.find("out of memory"), std::string::npos) << message;
    EXPECT_NE(message.find("tried to allocate 3145728 bytes"), std::string::npos) << message;
    EXPECT_NE(message.find("reserved 6291456 bytes"), std::string::npos) << message;
    EXPECT_NE(message.find("in use 6291456 bytes"), std::string::npos) << message;
  }
  EXPECT_EQ(allocator.backend().malloc_calls, 3);       // a, then one failure and one retry
  EXPECT_EQ(allocator.stats().current_bytes, 6 * MiB);  // nothing leaked into the stats
  EXPECT_EQ(allocator.stats().num_mallocs, 1u);
  allocator.deallocate(a);
}

TEST(CudaAllocatorPolicy, ZeroBytesAndForeignPointers) {
  Allocator allocator;
  EXPECT_EQ(allocator.allocate(0), nullptr);
  EXPECT_EQ(allocator.backend().malloc_calls, 0);
  EXPECT_TRUE(allocator.deallocate(nullptr));
  int not_ours = 0;
  EXPECT_FALSE(allocator.deallocate(&not_ours));
  void* a = allocator.allocate(10);
  EXPECT_TRUE(allocator.deallocate(a));
  EXPECT_FALSE(allocator.deallocate(a));  // already freed: no longer in use
  EXPECT_EQ(allocator.stats().current_bytes, 0u);
}

TEST(CudaAllocatorPolicy, ConcurrentAllocateAndFreeKeepTheBooksBalanced) {
  Allocator allocator;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&allocator, t] {
      for (int i = 0; i < 2000; ++i) {
        void* ptr = allocator.allocate(static_cast<std::size_t>(512 * (1 + (i + t) % 5)));
        allocator.deallocate(ptr);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const cuda::CudaMemoryStats stats = allocator.stats();
  EXPECT_EQ(stats.current_bytes, 0u);
  EXPECT_EQ(stats.num_mallocs + stats.num_cache_hits, 8000u);
  EXPECT_EQ(stats.reserved_bytes, allocator.cached_bytes());
  EXPECT_EQ(stats.reserved_bytes, allocator.backend().held);
}
