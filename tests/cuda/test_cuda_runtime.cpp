// The CUDA runtime, device storage, host<->device copies and fill. Without a
// GPU (or without CUDA compiled in) the device tests skip with the reason;
// the tests that say what happens WITHOUT a GPU always run.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/cuda/caching_allocator.h"
#include "core/cuda/runtime.h"
#include "core/ops/copy.h"
#include "recgrad.h"
#include "test_support.h"

using namespace recgrad;
using recgrad::testing::expect_error;

namespace {

/// The bytes of a CPU tensor's elements in row-major order (for bit-exact comparisons).
std::vector<float> values_of(const Tensor& t) { return t.to_vector<float>(); }

}  // namespace

// ---- without a GPU: clear errors, never a crash ----

TEST(CudaRuntime, AvailabilityIsConsistent) {
  if (cuda::cuda_available()) {
    EXPECT_TRUE(cuda::cuda_built());
    EXPECT_GT(cuda::cuda_device_count(), 0);
    EXPECT_EQ(cuda::cuda_unavailable_reason(), "");
  } else {
    EXPECT_EQ(cuda::cuda_device_count(), 0);
    EXPECT_FALSE(cuda::cuda_unavailable_reason().empty());
    if (!cuda::cuda_built()) {
      EXPECT_EQ(cuda::cuda_unavailable_reason(), "built without CUDA");
    }
  }
#if RECGRAD_WITH_CUDA  // the library's PUBLIC definition reaches its users
  EXPECT_TRUE(cuda::cuda_built());
#else
  EXPECT_FALSE(cuda::cuda_built());
#endif
}

TEST(CudaRuntime, CudaTensorWithoutGpuThrowsWithTheReason) {
  if (cuda::cuda_available()) GTEST_SKIP() << "a CUDA device is present; this test is for machines without one";
  const std::string reason = cuda::cuda_unavailable_reason();
  expect_error([] { Tensor::empty({2}, DType::f32, Device::cuda()); },
               {"Storage::allocate", "CUDA requested (cuda:0)", "no CUDA device/driver is available", reason});
  expect_error([] { zeros({3}, {DType::f32, Device::cuda()}); }, {"cuda:0", reason});
  expect_error([] { raw::to_device(ones({4}), Device::cuda(1)); }, {"to_device", "CUDA requested (cuda:1)", reason});
  // Statistics of an unavailable device are all zero, and emptying the cache is harmless.
  const cuda::CudaMemoryStats stats = cuda::cuda_memory_stats();
  EXPECT_EQ(stats.reserved_bytes, 0u);
  EXPECT_EQ(stats.num_mallocs, 0u);
  cuda::cuda_empty_cache();
  cuda::cuda_reset_peak();
}

TEST(CudaRuntime, MemoryStatsRejectACpuDevice) {
  expect_error([] { cuda::cuda_memory_stats(Device::cpu()); }, {"cuda_memory_stats", "cpu"});
  expect_error([] { cuda::cuda_reset_peak(Device::cpu()); }, {"cuda_reset_peak", "cpu"});
}

// ---- on a GPU ----

TEST(CudaRuntime, BadDeviceOrdinalThrows) {
  SKIP_WITHOUT_CUDA();
  expect_error([] { Tensor::empty({2}, DType::f32, Device::cuda(cuda::cuda_device_count())); },
               {"Storage::allocate", "does not exist"});
}

TEST(CudaCopy, ContiguousRoundTripIsBitExact) {
  SKIP_WITHOUT_CUDA();
  for (std::int64_t n : {1, 7, 33, 1000003}) {
    const Tensor host = randn({n});
    const Tensor device = raw::to_device(host, Device::cuda());
    EXPECT_EQ(device.device(), Device::cuda());
    EXPECT_EQ(device.shape(), host.shape());
    const Tensor back = raw::to_device(device, Device::cpu());
    ASSERT_EQ(back.numel(), n);
    EXPECT_EQ(std::memcmp(back.raw_data(), host.raw_data(), static_cast<std::size_t>(n) * sizeof(float)), 0)
        << "n = " << n;
  }
}

TEST(CudaCopy, EveryDtypeRoundTrips) {
  SKIP_WITHOUT_CUDA();
  for (DType dtype : {DType::f32, DType::f64, DType::i64, DType::i32, DType::b8, DType::u8}) {
    const Tensor host = raw::to_dtype(randint(0, 2, {33}, {DType::i64}), dtype);
    const Tensor back = raw::to_device(raw::to_device(host, Device::cuda()), Device::cpu());
    EXPECT_EQ(back.dtype(), dtype);
    EXPECT_EQ(std::memcmp(back.raw_data(), host.raw_data(), 33 * element_size(dtype)), 0) << dtype;
  }
}

TEST(CudaCopy, StridedViewsRoundTripBitExact) {
  SKIP_WITHOUT_CUDA();
  for (std::int64_t n : {1, 7, 33, 1000003}) {
    const Tensor host = randn({2, n});
    // Host strided -> device: a transposed view [n, 2] and a column slice.
    const Tensor transposed = transpose(host, 0, 1);
    const Tensor on_device = raw::to_device(transposed, Device::cuda());
    EXPECT_EQ(values_of(raw::to_device(on_device, Device::cpu())), values_of(transposed)) << "n = " << n;
    // Device strided -> host: views of a dense device tensor.
    const Tensor dense = raw::to_device(host, Device::cuda());
    const Tensor device_view = transpose(dense, 0, 1);
    ASSERT_FALSE(device_view.is_contiguous() && n > 1);
    EXPECT_EQ(values_of(raw::to_device(device_view, Device::cpu())), values_of(transposed)) << "n = " << n;
    const Tensor row = select(dense, 0, 1);
    EXPECT_EQ(values_of(raw::to_device(row, Device::cpu())), values_of(select(host, 0, 1))) << "n = " << n;
    const Tensor expanded = expand(narrow(dense, 1, 0, 1), {2, 5});
    EXPECT_EQ(values_of(raw::to_device(expanded, Device::cpu())), values_of(expand(narrow(host, 1, 0, 1), {2, 5})));
  }
}

TEST(CudaFill, FillsDenseAndStridedViews) {
  SKIP_WITHOUT_CUDA();
  for (std::int64_t n : {1, 7, 33, 1000003}) {
    const Tensor t = zeros({n}, {DType::f32, Device::cuda()});
    raw::fill_(t, 2.5);
    const std::vector<float> values = values_of(raw::to_device(t, Device::cpu()));
    ASSERT_EQ(values.size(), static_cast<std::size_t>(n));
    for (float v : values) ASSERT_EQ(v, 2.5f);
  }
  // A strided view: only column 1 of a [5, 3] matrix changes.
  const Tensor m = zeros({5, 3}, {DType::f64, Device::cuda()});
  raw::fill_(select(m, 1, 1), -4.0);
  const std::vector<double> values = raw::to_device(m, Device::cpu()).to_vector<double>();
  for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(values[i], i % 3 == 1 ? -4.0 : 0.0) << i;
  // Integer and bool dtypes convert the value.
  const Tensor ints = full({4}, 7.0, {DType::i64, Device::cuda()});
  EXPECT_EQ(raw::to_device(ints, Device::cpu()).to_vector<std::int64_t>(), std::vector<std::int64_t>(4, 7));
  const Tensor flags = ones({3}, {DType::b8, Device::cuda()});
  EXPECT_EQ(raw::to_device(flags, Device::cpu()).to_vector<double>(), std::vector<double>(3, 1.0));
}

TEST(CudaCopy, DenseDeviceCopyAndUnsupportedCopyError) {
  SKIP_WITHOUT_CUDA();
  const Tensor host = randn({33});
  const Tensor device = raw::to_device(host, Device::cuda());
  const Tensor copy = raw::clone(device);
  EXPECT_NE(copy.raw_data(), device.raw_data());
  EXPECT_EQ(values_of(raw::to_device(copy, Device::cpu())), values_of(host));
  const Tensor as_double = Tensor::empty({33}, DType::f64, Device::cuda());
  expect_error([&] { raw::copy_(as_double, device); }, {"copy_", "cuda:0", "f32", "f64"});
}

TEST(CudaAllocator, StatsFollowAllocationsAndFrees) {
  SKIP_WITHOUT_CUDA();
  cuda::cuda_empty_cache();
  const cuda::CudaMemoryStats before = cuda::cuda_memory_stats();
  const std::size_t bytes = 3u << 20;  // a 4 MiB block
  const void* first = nullptr;
  {
    const Tensor t = Tensor::empty({static_cast<std::int64_t>(bytes / 4)}, DType::f32, Device::cuda());
    first = t.raw_data();
    const cuda::CudaMemoryStats during = cuda::cuda_memory_stats();
    EXPECT_EQ(during.current_bytes, before.current_bytes + (4u << 20));
    EXPECT_EQ(during.num_mallocs, before.num_mallocs + 1);
    EXPECT_GE(during.reserved_bytes, during.current_bytes);
  }
  const cuda::CudaMemoryStats after_free = cuda::cuda_memory_stats();
  EXPECT_EQ(after_free.current_bytes, before.current_bytes);
  EXPECT_EQ(after_free.reserved_bytes, before.reserved_bytes + (4u << 20));  // cached, not freed
  {
    const Tensor again = Tensor::empty({static_cast<std::int64_t>(bytes / 4)}, DType::f32, Device::cuda());
    EXPECT_EQ(again.raw_data(), first);  // served from the cache
    EXPECT_EQ(cuda::cuda_memory_stats().num_cache_hits, after_free.num_cache_hits + 1);
    EXPECT_EQ(cuda::cuda_memory_stats().num_mallocs, after_free.num_mallocs);
  }
  cuda::cuda_empty_cache();
  EXPECT_EQ(cuda::cuda_memory_stats().reserved_bytes, cuda::cuda_memory_stats().current_bytes);  // nothing cached
}

TEST(CudaAllocator, PeakTracking) {
  SKIP_WITHOUT_CUDA();
  cuda::cuda_reset_peak();
  const std::size_t base = cuda::cuda_memory_stats().current_bytes;
  EXPECT_EQ(cuda::cuda_memory_stats().peak_bytes, base);
  {
    const Tensor a = Tensor::empty({1 << 20}, DType::f32, Device::cuda());  // 4 MiB
    const Tensor b = Tensor::empty({1 << 19}, DType::f32, Device::cuda());  // 2 MiB
    EXPECT_EQ(cuda::cuda_memory_stats().peak_bytes, base + (6u << 20));
  }
  EXPECT_EQ(cuda::cuda_memory_stats().current_bytes, base);
  EXPECT_EQ(cuda::cuda_memory_stats().peak_bytes, base + (6u << 20));
  cuda::cuda_reset_peak();
  EXPECT_EQ(cuda::cuda_memory_stats().peak_bytes, base);
}
