// Host<->device copies through the pinned staging ring (core/cuda/pinned.h) and device-to-device
// copies (core/cuda/memcpy.h). Without a GPU the device tests skip with the reason; the tests of
// what happens WITHOUT a GPU always run.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/cuda/memcpy.h"
#include "core/cuda/pinned.h"
#include "cuda/parity.h"
#include "test_support.h"

using namespace recgrad;
using recgrad::testing::expect_error;

namespace {

/// Elements of a f32 tensor that fill `chunks` staging blocks plus a few more.
std::int64_t floats_for_chunks(std::int64_t chunks) {
  return chunks * static_cast<std::int64_t>(cuda::kStagingBlockBytes / sizeof(float)) + 3;
}

/// True when two CPU tensors hold the same bytes in row-major order (bit-exact, any dtype).
bool same_bytes(const Tensor& expected, const Tensor& actual) {
  const Tensor e = raw::contiguous(expected), a = raw::contiguous(actual);
  if (e.dtype() != a.dtype() || e.shape() != a.shape()) return false;
  if (e.numel() == 0) return true;
  return std::memcmp(e.raw_data(), a.raw_data(), static_cast<std::size_t>(e.numel()) * element_size(e.dtype())) == 0;
}

Tensor to_gpu(const Tensor& t) { return raw::to_device(t, Device::cuda()); }
Tensor to_cpu(const Tensor& t) { return raw::to_device(t, Device::cpu()); }

}  // namespace

// ---- without a GPU: clear errors, never a crash ----

TEST(PinnedCopy, WithoutGpuCopiesAndSynchronizeThrowTheReason) {
  if (cuda::cuda_available()) GTEST_SKIP() << "a CUDA device is present; this test is for machines without one";
  const std::string reason = cuda::cuda_unavailable_reason();
  float host[4] = {1, 2, 3, 4};
  expect_error([&] { cuda::staged_host_to_device(host, host, sizeof host, 0, "my_op"); },
               {"my_op", "CUDA requested (cuda:0)", reason});
  expect_error([&] { cuda::staged_device_to_host(host, host, sizeof host, 0, "my_op"); }, {"my_op", reason});
  expect_error([] { cuda::synchronize(); }, {"synchronize", "cuda:0", reason});
  expect_error([] { to_gpu(ones({3})); }, {"to_device", reason});
  // Nothing was staged, and releasing nothing is harmless.
  EXPECT_EQ(cuda::pinned_staging_stats().blocks, 0u);
  EXPECT_EQ(cuda::pinned_staging_stats().chunks_staged, 0u);
  cuda::release_pinned_staging();
}

TEST(PinnedCopy, CopyBytesNeedsACudaSide) {
  float a = 1, b = 2;
  expect_error([&] { cuda::copy_bytes(&a, Device::cpu(), &b, Device::cpu(), sizeof a, "my_op"); },
               {"my_op", "copy_bytes is for CUDA copies", "cpu -> cpu"});
}

// ---- on a GPU ----

TEST(PinnedCopy, RoundTripsOfOddSizesAreBitExact) {
  SKIP_WITHOUT_CUDA();
  // Empty, tiny, odd, one block exactly, one byte over, and more chunks than the ring has blocks.
  std::vector<std::int64_t> sizes = recgrad::testing::parity_sizes();
  const auto block_floats = static_cast<std::int64_t>(cuda::kStagingBlockBytes / sizeof(float));
  for (std::int64_t n :
       {std::int64_t{0}, block_floats, block_floats + 1, floats_for_chunks(cuda::kStagingBlocks + 2)}) {
    sizes.push_back(n);
  }
  for (std::int64_t n : sizes) {
    manual_seed(static_cast<std::uint64_t>(n));
    const Tensor host = randn({n});
    const Tensor device = to_gpu(host);
    EXPECT_EQ(device.device(), Device::cuda());
    EXPECT_EQ(device.shape(), host.shape());
    EXPECT_TRUE(same_bytes(host, to_cpu(device))) << "n = " << n;
  }
  // Byte-sized elements: sizes that are not a multiple of 4 bytes, across a block boundary.
  for (std::int64_t n : {std::int64_t{1}, std::int64_t{7}, static_cast<std::int64_t>(cuda::kStagingBlockBytes) + 5}) {
    const Tensor host = raw::to_dtype(randint(0, 256, {n}), DType::u8);
    EXPECT_TRUE(same_bytes(host, to_cpu(to_gpu(host)))) << "u8, n = " << n;
  }
}

TEST(PinnedCopy, StridedSourcesOnBothSides) {
  SKIP_WITHOUT_CUDA();
  for (std::int64_t n : recgrad::testing::parity_sizes()) {
    manual_seed(7);
    const Tensor host = randn({3, n});
    // Host views -> device: transposed, a strided slice, a broadcast (stride 0) view.
    const Tensor transposed = transpose(host, 0, 1);
    const Tensor every_other_row = slice(host, 0, 0, 3, 2);
    const Tensor broadcast = expand(narrow(host, 1, 0, 1), {3, 5});
    for (const Tensor& view : {transposed, every_other_row, broadcast}) {
      const Tensor on_device = to_gpu(view);
      EXPECT_TRUE(on_device.is_contiguous());
      EXPECT_TRUE(same_bytes(view, to_cpu(on_device))) << "host view " << view.shape() << ", n = " << n;
    }
    // Device views -> host: the same views of a dense device tensor.
    const Tensor dense = to_gpu(host);
    EXPECT_TRUE(same_bytes(transposed, to_cpu(transpose(dense, 0, 1)))) << "n = " << n;
    EXPECT_TRUE(same_bytes(every_other_row, to_cpu(slice(dense, 0, 0, 3, 2)))) << "n = " << n;
    EXPECT_TRUE(same_bytes(broadcast, to_cpu(expand(narrow(dense, 1, 0, 1), {3, 5})))) << "n = " << n;
    EXPECT_TRUE(same_bytes(select(host, 0, 2), to_cpu(select(dense, 0, 2)))) << "n = " << n;
  }
}

TEST(PinnedCopy, ManyCopiesInARowReuseTheStagingBlocks) {
  SKIP_WITHOUT_CUDA();
  cuda::release_pinned_staging();
  // Host -> device of a multi-chunk tensor whose source is overwritten right after each copy
  // returns: the device must hold the values at the time of the call, even while the staging
  // blocks are reused for the next copy before the previous DMA has finished.
  const std::int64_t n = floats_for_chunks(cuda::kStagingBlocks + 1);
  Tensor source = Tensor::empty({n});
  std::vector<Tensor> on_device;
  constexpr int kCopies = 12;
  for (int i = 0; i < kCopies; ++i) {
    raw::fill_(source, static_cast<double>(i));
    on_device.push_back(to_gpu(source));
  }
  // Small copies in both directions, interleaved, as a training loop does with batches and losses.
  for (int i = 0; i < 200; ++i) {
    const Tensor batch = full({257}, static_cast<double>(i), {DType::i64});
    const Tensor back = to_cpu(to_gpu(batch));
    ASSERT_TRUE(same_bytes(batch, back)) << "small copy " << i;
  }
  for (int i = 0; i < kCopies; ++i) {
    const std::vector<float> values = to_cpu(on_device[static_cast<std::size_t>(i)]).to_vector<float>();
    ASSERT_EQ(values.size(), static_cast<std::size_t>(n));
    EXPECT_EQ(values.front(), static_cast<float>(i));
    EXPECT_EQ(values.back(), static_cast<float>(i));
    EXPECT_EQ(values[values.size() / 2], static_cast<float>(i));
  }
  // The ring never grows: all of that went through at most kStagingBlocks pinned blocks.
  const cuda::PinnedStagingStats stats = cuda::pinned_staging_stats();
  EXPECT_LE(stats.blocks, static_cast<std::size_t>(cuda::kStagingBlocks) * cuda::cuda_device_count());
  EXPECT_GT(stats.blocks, 0u);
  EXPECT_EQ(stats.reserved_bytes, stats.blocks * cuda::kStagingBlockBytes);
  EXPECT_GE(stats.chunks_staged, static_cast<std::size_t>(kCopies * (cuda::kStagingBlocks + 2) + 400));
  // Released blocks come back on the next copy.
  cuda::release_pinned_staging();
  EXPECT_EQ(cuda::pinned_staging_stats().blocks, 0u);
  EXPECT_TRUE(same_bytes(source, to_cpu(to_gpu(source))));
  EXPECT_GT(cuda::pinned_staging_stats().blocks, 0u);
}

TEST(PinnedCopy, DeviceToDevice) {
  SKIP_WITHOUT_CUDA();
  std::vector<std::int64_t> sizes = recgrad::testing::parity_sizes();
  sizes.push_back(0);
  for (std::int64_t n : sizes) {
    manual_seed(11);
    const Tensor host = randn({n});
    const Tensor src = to_gpu(host);
    // The same device: the tensor itself, no copy.
    EXPECT_EQ(raw::to_device(src, Device::cuda()).device_pointer(), src.device_pointer());
    // A byte copy on one device, ordered after the kernel that wrote the source and before the
    // kernel that overwrites it.
    const Tensor dst = Tensor::empty({n}, DType::f32, Device::cuda());
    raw::fill_(src, 3.0);
    cuda::copy_bytes(dst.device_pointer(), Device::cuda(), src.device_pointer(), Device::cuda(),
                     static_cast<std::size_t>(n) * sizeof(float), "test");
    raw::fill_(src, -1.0);
    EXPECT_TRUE(same_bytes(full({n}, 3.0), to_cpu(dst))) << "n = " << n;
    // Between two GPUs, when there are two.
    if (cuda::cuda_device_count() > 1) {
      const Tensor other = raw::to_device(to_gpu(host), Device::cuda(1));
      EXPECT_EQ(other.device(), Device::cuda(1));
      EXPECT_TRUE(same_bytes(host, to_cpu(other))) << "cuda:0 -> cuda:1, n = " << n;
    }
  }
  cuda::synchronize();
}
