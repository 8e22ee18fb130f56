// CPU-vs-CUDA parity of softmax and log_softmax, forward and gradient: the recommender shape [256 * 50, 64]
// and a 100k vocabulary [8, 100003] (a block per row), row lengths around each kernel's limits (a warp
// holds up to 64, 256 or 1024 elements in registers), rows of length 1, a non-last dim, strided inputs
// (transposed, sliced, expanded), odd sizes, f64, and -inf entries (masked positions, and a fully masked
// row that is NaN on both devices). Skips without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/ops/copy.h"
#include "core/ops/softmax.h"
#include "cuda/parity.h"
#include "recgrad.h"
#include "test_support.h"

using namespace recgrad;
using recgrad::testing::expect_cuda_parity;
using recgrad::testing::parity_input;
using recgrad::testing::parity_sizes;
using recgrad::testing::Tolerance;

namespace {

/// Softmax outputs and their gradients are small (1 / row length on average), so the default atol 1e-6
/// would hide errors in rows of 1e5 or more elements: atol 1e-10 there. The row sums behind them have
/// a relative error of a few 1e-7 on both devices, well inside rtol 1e-5.
Tolerance tolerance_for(std::int64_t row_length) { return {1e-5, row_length > 1000 ? 1e-10 : 1e-6}; }

/// softmax and log_softmax of `view(x)` along `dim`, forward and gradient.
void expect_both_parity(
    const Tensor& x, std::int64_t dim, std::int64_t row_length, const std::string& what,
    const std::function<Tensor(const Tensor&)>& view = [](const Tensor& t) { return t; }) {
  const Tolerance tol = tolerance_for(row_length);
  expect_cuda_parity([&](const std::vector<Tensor>& in) { return softmax(view(in[0]), dim); }, {x}, tol,
                     "softmax " + what);
  expect_cuda_parity([&](const std::vector<Tensor>& in) { return log_softmax(view(in[0]), dim); }, {x}, tol,
                     "log_softmax " + what);
}

}  // namespace

TEST(CudaParitySoftmax, RecommenderShapes) {
  SKIP_WITHOUT_CUDA();
  expect_both_parity(parity_input({256 * 50, 64}, 1), -1, 64, "[12800, 64]");
  expect_both_parity(parity_input({8, 100003}, 2), 1, 100003, "[8, 100003]");
}

TEST(CudaParitySoftmax, RowLengthsAroundEachKernel) {
  SKIP_WITHOUT_CUDA();
  for (std::int64_t n : {1, 2, 7, 31, 32, 33, 64, 65, 255, 256, 257, 1000, 1024, 1025, 4099}) {
    const Shape shape{13, n};
    expect_both_parity(parity_input(shape, 3), 1, n, shape_str(shape));
  }
}

TEST(CudaParitySoftmax, OddSizes) {
  SKIP_WITHOUT_CUDA();
  for (std::int64_t n : parity_sizes()) expect_both_parity(parity_input({n}, 4), 0, n, shape_str({n}));
}

TEST(CudaParitySoftmax, NonLastDims) {
  SKIP_WITHOUT_CUDA();
  const Tensor x = parity_input({7, 33, 5}, 5);
  expect_both_parity(x, 0, 7, "[7, 33, 5] dim 0");
  expect_both_parity(x, 1, 33, "[7, 33, 5] dim 1");
  expect_both_parity(x, -2, 33, "[7, 33, 5] dim -2");
  expect_both_parity(parity_input({1100, 3}, 6), 0, 1100, "[1100, 3] dim 0 (a block per strided row)");
}

TEST(CudaParitySoftmax, StridedInputs) {
  SKIP_WITHOUT_CUDA();
  const Tensor x = parity_input({64, 33}, 7);
  expect_both_parity(x, 1, 64, "of a transposed matrix", [](const Tensor& t) { return transpose(t, 0, 1); });
  expect_both_parity(x, 0, 64, "of a transposed matrix along dim 0",
                     [](const Tensor& t) { return transpose(t, 0, 1); });
  expect_both_parity(x, 1, 11, "of a slice with step 3", [](const Tensor& t) { return slice(t, 1, 0, 33, 3); });
  expect_both_parity(x, 0, 64, "of a column", [](const Tensor& t) { return select(t, 1, 4); });
  const Tensor row = parity_input({1, 300}, 8);
  expect_both_parity(row, 1, 300, "of an expanded row", [](const Tensor& t) { return expand(t, {5, 300}); });
  expect_both_parity(row, 0, 5, "across an expanded row (stride 0)", [](const Tensor& t) {
    return expand(t, {5, 300});
  });
}

TEST(CudaParitySoftmax, RowsOfLengthOne) {
  SKIP_WITHOUT_CUDA();
  expect_both_parity(parity_input({17, 1}, 9), 1, 1, "[17, 1] dim 1");
  expect_both_parity(parity_input({1}, 10), 0, 1, "[1]");
}

TEST(CudaParitySoftmax, MaskedEntries) {
  SKIP_WITHOUT_CUDA();
  // Rows 0-2: every third entry -inf (a masked attention or a padded vocabulary); row 3: all -inf, which
  // is NaN (forward and gradient) on both devices, as in PyTorch; rows 4-5: unmasked.
  for (std::int64_t n : {40, 3000}) {
    manual_seed(11);
    std::vector<float> values = randn({6, n}).to_vector<float>();
    for (std::int64_t j = 0; j < n; ++j) {
      for (std::int64_t r = 0; r < 3; ++r) {
        if (j % 3 == r) values[static_cast<std::size_t>(r * n + j)] = -INFINITY;
      }
      values[static_cast<std::size_t>(3 * n + j)] = -INFINITY;
    }
    Tensor x = from_vector(values, {6, n});
    x.requires_grad_();
    expect_both_parity(x, 1, n, "with -inf entries, rows of " + std::to_string(n));
  }
}

TEST(CudaParitySoftmax, Float64) {
  SKIP_WITHOUT_CUDA();
  for (std::int64_t n : {7, 1000, 5000}) {
    const Tensor x = parity_input({9, n}, 12, DType::f64);
    expect_cuda_parity([](const std::vector<Tensor>& in) { return softmax(in[0], 1); }, {x}, Tolerance{1e-12, 1e-15},
                       "softmax f64 rows of " + std::to_string(n));
    expect_cuda_parity([](const std::vector<Tensor>& in) { return log_softmax(in[0], 1); }, {x},
                       Tolerance{1e-12, 1e-15}, "log_softmax f64 rows of " + std::to_string(n));
  }
}

TEST(CudaParitySoftmax, EmptyTensors) {
  SKIP_WITHOUT_CUDA();
  expect_both_parity(parity_input({0, 5}, 13), 1, 5, "[0, 5]");
  expect_both_parity(parity_input({4, 0}, 14), 1, 0, "[4, 0]");
}

TEST(CudaParitySoftmax, DeterministicRunToRun) {
  SKIP_WITHOUT_CUDA();
  const Tensor x = raw::to_device(parity_input({8, 100003}, 15).detach(), Device::cuda());
  for (bool log : {false, true}) {
    const Tensor first = log ? log_softmax(x, 1) : softmax(x, 1);
    const Tensor second = log ? log_softmax(x, 1) : softmax(x, 1);
    EXPECT_EQ(raw::to_device(first, Device::cpu()).to_vector<float>(),
              raw::to_device(second, Device::cpu()).to_vector<float>());
  }
}

TEST(CudaParitySoftmax, GradientOnAnotherDeviceThrows) {
  SKIP_WITHOUT_CUDA();
  const Tensor y = raw::to_device(randn({3, 5}), Device::cuda());
  const Tensor grad_on_cpu = randn({3, 5});
  recgrad::testing::expect_error([&] { raw::softmax_backward(y, grad_on_cpu, 1); },
                                 {"softmax_backward", "gradient on cpu", "cuda:0"});
  recgrad::testing::expect_error([&] { raw::log_softmax_backward(y, grad_on_cpu, 1); }, {"log_softmax_backward"});
}
