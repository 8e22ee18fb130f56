// The Philox stream on CUDA: rand, randn and dropout drawn on the GPU equal the CPU's for the same seed
// and generator state, and advance the generator identically, so one seed gives one dropout mask on
// both devices. Skips without a GPU; asking for a random CUDA tensor without one is a clear Error.
//
// How exact: rand and the dropout masks and outputs are bit-identical (integer compares, exact uniforms,
// one fused multiply-add on both sides). randn goes through log/sin/cos in double, where CUDA's functions
// and the host libm may differ in the last bit: f32 values are then the same after rounding except at
// rare rounding boundaries (one f32 ulp, 6e-8 relative), so rtol 1e-6; f64 values agree to 1e-14.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/cuda/runtime.h"
#include "core/ops/copy.h"
#include "core/ops/random.h"
#include "cuda/parity.h"
#include "recgrad.h"
#include "test_support.h"

using namespace recgrad;
using recgrad::testing::expect_close;
using recgrad::testing::expect_cuda_parity;
using recgrad::testing::expect_error;
using recgrad::testing::parity_input;
using recgrad::testing::parity_sizes;
using recgrad::testing::Tolerance;

namespace {

constexpr Tolerance kExact{0.0, 0.0};

/// Generator states worth testing: a fresh seed, and an offset whose counters cross 2^32 (the carry
/// into the second counter word).
std::vector<Generator> generators() {
  Generator fresh(2024);
  Generator wrapping(77);
  wrapping.set_offset((std::uint64_t{1} << 32) - 3);
  return {fresh, wrapping};
}

std::string name_of(const std::string& op, std::int64_t n, const Generator& g) {
  return op + " n=" + std::to_string(n) + " seed=" + std::to_string(g.seed()) + " offset=" + std::to_string(g.offset());
}

}  // namespace

TEST(CudaParityRandom, WithoutGpuRandomCudaTensorsThrow) {
  if (cuda::cuda_available()) GTEST_SKIP() << "a CUDA device is present; this test is for machines without one";
  expect_error([] { randn({3}, {DType::f32, Device::cuda()}); }, {"CUDA requested (cuda:0)"});
  expect_error([] { rand({3}, 0.0, 1.0, {DType::f32, Device::cuda()}); }, {"CUDA requested (cuda:0)"});
}

TEST(CudaParityRandom, RandIsBitIdentical) {
  SKIP_WITHOUT_CUDA();
  for (std::int64_t n : parity_sizes()) {
    for (const Generator& start : generators()) {
      for (DType dtype : {DType::f32, DType::f64}) {
        Generator on_cpu = start, on_cuda = start;
        const Tensor cpu = rand({n}, -3.0, 5.0, {dtype}, &on_cpu);
        const Tensor cuda = rand({n}, -3.0, 5.0, {dtype, Device::cuda()}, &on_cuda);
        ASSERT_TRUE(cuda.device().is_cuda());
        expect_close(cpu, cuda, kExact, name_of("rand", n, start));
        EXPECT_EQ(on_cpu.offset(), on_cuda.offset()) << name_of("rand", n, start);
      }
    }
  }
  // The default generator and shapes of any rank.
  manual_seed(5);
  const Tensor cpu = rand({3, 5, 7});
  manual_seed(5);
  expect_close(cpu, rand({3, 5, 7}, 0.0, 1.0, {DType::f32, Device::cuda()}), kExact, "rand [3, 5, 7]");
}

TEST(CudaParityRandom, RandnMatchesTheCpu) {
  SKIP_WITHOUT_CUDA();
  for (std::int64_t n : parity_sizes()) {
    for (const Generator& start : generators()) {
      Generator on_cpu = start, on_cuda = start;
      expect_close(randn({n}, {DType::f32}, &on_cpu), randn({n}, {DType::f32, Device::cuda()}, &on_cuda),
                   Tolerance{1e-6, 1e-12}, name_of("randn f32", n, start));
      expect_close(randn({n}, {DType::f64}, &on_cpu), randn({n}, {DType::f64, Device::cuda()}, &on_cuda),
                   Tolerance{1e-14, 1e-15}, name_of("randn f64", n, start));
      EXPECT_EQ(on_cpu.offset(), on_cuda.offset()) << name_of("randn", n, start);
    }
  }
}

TEST(CudaParityRandom, DropoutMaskIsBitIdentical) {
  SKIP_WITHOUT_CUDA();
  for (std::int64_t n : parity_sizes()) {
    for (const Generator& start : generators()) {
      for (double p : {0.1, 0.5, 0.9}) {
        const std::string what = name_of("dropout p=" + std::to_string(p), n, start);
        const Tensor x = parity_input({n}, 11).detach();
        Generator on_cpu = start, on_cuda = start;
        const raw::DropoutResult cpu = raw::dropout(x, p, on_cpu);
        const raw::DropoutResult cuda = raw::dropout(raw::to_device(x, Device::cuda()), p, on_cuda);
        ASSERT_TRUE(cuda.keep.device().is_cuda()) << what;
        expect_close(cpu.keep, cuda.keep, kExact, what + " mask");
        expect_close(cpu.output, cuda.output, kExact, what + " output");
        EXPECT_EQ(on_cpu.offset(), on_cuda.offset()) << what;
        // The CPU's keep mask for the same state is dropout_keep_mask's.
        Generator for_mask = start;
        expect_close(raw::dropout_keep_mask({n}, p, for_mask), cuda.keep, kExact, what + " vs dropout_keep_mask");
      }
    }
  }
}

TEST(CudaParityRandom, DropoutStridedInputAndBackward) {
  SKIP_WITHOUT_CUDA();
  // A transposed input: the mask follows the row-major order of the view, as on the CPU.
  const Tensor x = parity_input({33, 7}, 12).detach();
  Generator on_cpu(9), on_cuda(9);
  const raw::DropoutResult cpu = raw::dropout(raw::transpose(x, 0, 1), 0.3, on_cpu);
  const raw::DropoutResult cuda = raw::dropout(raw::transpose(raw::to_device(x, Device::cuda()), 0, 1), 0.3, on_cuda);
  expect_close(cpu.keep, cuda.keep, kExact, "dropout strided mask");
  expect_close(cpu.output, cuda.output, kExact, "dropout strided output");
  // The differentiable op with a fresh generator per run: forward and gradient. Through sum() the
  // gradient reaching dropout_backward is an expanded (stride 0) view; through mul a dense one.
  for (std::int64_t n : parity_sizes()) {
    expect_cuda_parity(
        [](const std::vector<Tensor>& in) {
          Generator generator(31);
          return dropout(in[0], 0.25, true, &generator);
        },
        {parity_input({n}, 13)}, kExact, "dropout autograd n=" + std::to_string(n));
  }
  expect_cuda_parity(
      [](const std::vector<Tensor>& in) {
        Generator generator(32);
        return sum(dropout(transpose(in[0], 0, 1), 0.5, true, &generator));
      },
      // The sum of 231 kept values is reduced in different orders on the two devices: the default tolerance.
      {parity_input({33, 7}, 14)}, Tolerance{}, "dropout under sum, strided");
}
