// The host allocator: large blocks are reused from a bounded cache; small ones are not cached.
#include <gtest/gtest.h>

#include "core/cpu/host_allocator.h"
#include "recgrad.h"

using namespace recgrad;

TEST(HostAllocator, LargeBlocksAreReusedAndAligned) {
  cpu::host_set_cache_limit(std::size_t{1} << 30);
  cpu::host_empty_cache();
  const std::size_t bytes = 3u << 20;  // rounds up to 4 MiB
  void* first = cpu::host_allocate(bytes);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(first) % 64, 0u);
  cpu::host_free(first, bytes);
  EXPECT_EQ(cpu::host_cache_stats().cached_bytes, 4u << 20);
  const auto hits_before = cpu::host_cache_stats().hits;
  void* second = cpu::host_allocate(bytes + 100);  // same 2 MiB size class
  EXPECT_EQ(second, first);
  EXPECT_EQ(cpu::host_cache_stats().hits, hits_before + 1);
  EXPECT_EQ(cpu::host_cache_stats().cached_bytes, 0u);
  cpu::host_free(second, bytes + 100);
  cpu::host_empty_cache();
  EXPECT_EQ(cpu::host_cache_stats().cached_bytes, 0u);
}

TEST(HostAllocator, MediumBlocksAreReusedInSizeClasses) {
  // 64 KiB .. 2 MiB: the activation sizes of small models, which glibc would mmap or trim and fault in again
  cpu::host_set_cache_limit(std::size_t{1} << 30);
  cpu::host_empty_cache();
  const std::size_t bytes = 100u << 10;  // rounds up to 128 KiB
  void* first = cpu::host_allocate(bytes);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(first) % 64, 0u);
  cpu::host_free(first, bytes);
  EXPECT_EQ(cpu::host_cache_stats().cached_bytes, 128u << 10);
  void* second = cpu::host_allocate(120u << 10);  // the same 64 KiB size class
  EXPECT_EQ(second, first);
  cpu::host_free(second, 120u << 10);
  void* small = cpu::host_allocate(60u << 10);  // below 64 KiB: the C heap, never cached
  cpu::host_free(small, 60u << 10);
  EXPECT_EQ(cpu::host_cache_stats().cached_bytes, 128u << 10);
  cpu::host_empty_cache();
}

TEST(HostAllocator, NearbySizesShareBlocks) {
  // Above 2 MiB the classes are an eighth of an octave apart: 33 and 35 MiB share the 36 MiB class, and a 30 MiB
  // request may take that block too (two classes up), but a 20 MiB one may not.
  cpu::host_set_cache_limit(std::size_t{1} << 30);
  cpu::host_empty_cache();
  constexpr std::size_t MiB = std::size_t{1} << 20;
  void* first = cpu::host_allocate(33 * MiB);
  cpu::host_free(first, 33 * MiB);
  EXPECT_EQ(cpu::host_cache_stats().cached_bytes, 36 * MiB);
  void* grown = cpu::host_allocate(35 * MiB);
  EXPECT_EQ(grown, first);
  cpu::host_free(grown, 35 * MiB);
  void* shrunk = cpu::host_allocate(30 * MiB);
  EXPECT_EQ(shrunk, first);
  EXPECT_EQ(cpu::host_cache_stats().cached_bytes, 0u);
  cpu::host_free(shrunk, 30 * MiB);  // back under its own class, 36 MiB
  EXPECT_EQ(cpu::host_cache_stats().cached_bytes, 36 * MiB);
  void* much_smaller = cpu::host_allocate(20 * MiB);
  EXPECT_NE(much_smaller, first);
  EXPECT_EQ(cpu::host_cache_stats().cached_bytes, 36 * MiB);
  cpu::host_free(much_smaller, 20 * MiB);
  cpu::host_empty_cache();
}

TEST(HostAllocator, CacheRespectsItsLimit) {
  cpu::host_empty_cache();
  cpu::host_set_cache_limit(4u << 20);
  void* a = cpu::host_allocate(4u << 20);
  void* b = cpu::host_allocate(4u << 20);
  cpu::host_free(a, 4u << 20);
  cpu::host_free(b, 4u << 20);  // over the limit: a, freed longest ago, goes back to the system
  EXPECT_EQ(cpu::host_cache_stats().cached_bytes, 4u << 20);
  const auto hits_before = cpu::host_cache_stats().hits;
  void* c = cpu::host_allocate(4u << 20);  // b, from the cache
  EXPECT_EQ(cpu::host_cache_stats().hits, hits_before + 1);
  EXPECT_EQ(c, b);
  cpu::host_free(c, 4u << 20);
  cpu::host_set_cache_limit(0);
  EXPECT_EQ(cpu::host_cache_stats().cached_bytes, 0u);
  cpu::host_set_cache_limit(std::size_t{1} << 30);
}

TEST(HostAllocator, AFullCacheMakesRoomForTheSizesInUseNow) {
  // A program that moves on to new sizes must not find its cache full of blocks of the old ones.
  constexpr std::size_t MiB = std::size_t{1} << 20;
  cpu::host_empty_cache();
  cpu::host_set_cache_limit(16 * MiB);
  void* old_sizes[2] = {cpu::host_allocate(8 * MiB), cpu::host_allocate(6 * MiB)};
  cpu::host_free(old_sizes[0], 8 * MiB);
  cpu::host_free(old_sizes[1], 6 * MiB);  // the cache: 8 + 6 MiB
  void* now = cpu::host_allocate(12 * MiB);
  cpu::host_free(now, 12 * MiB);  // the 8 MiB block, freed longest ago, leaves: 6 + 12 MiB would not fit either,
  EXPECT_EQ(cpu::host_cache_stats().cached_bytes, 12 * MiB);  // so the 6 MiB one leaves too
  const auto hits_before = cpu::host_cache_stats().hits;
  void* again = cpu::host_allocate(12 * MiB);
  EXPECT_EQ(again, now);
  EXPECT_EQ(cpu::host_cache_stats().hits, hits_before + 1);
  cpu::host_free(again, 12 * MiB);
  cpu::host_set_cache_limit(std::size_t{1} << 30);
  cpu::host_empty_cache();
}

TEST(HostAllocator, TensorsSurviveReuse) {
  // A tensor allocated from a recycled block holds exactly what was written to it.
  cpu::host_set_cache_limit(std::size_t{1} << 30);
  for (int round = 0; round < 3; ++round) {
    Tensor t = full({1 << 19}, static_cast<double>(round));  // 2 MiB of f32
    const auto values = t.to_vector<float>();
    for (float v : values) ASSERT_EQ(v, static_cast<float>(round));
  }
  EXPECT_THROW(Tensor::empty({std::int64_t{1} << 62}), Error);  // clear error, no abort
}
