// CPU-vs-CUDA parity of layer_norm and rms_norm, forward and the gradients of the input, weight and bias:
// the recommender shape [256 * 50, 64], a normalized_shape of two trailing dims, with and without
// weight/bias, odd widths (1, 7, 33, 1000; a warp per row), wide rows (a block per row) and strided
// inputs. The saved statistics must match too. Skips without a GPU.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/ops/copy.h"
#include "core/ops/norm.h"
#include "cuda/parity.h"
#include "recgrad.h"
#include "test_support.h"

using namespace recgrad;
using recgrad::testing::expect_close;
using recgrad::testing::expect_cuda_parity;
using recgrad::testing::expect_error;
using recgrad::testing::parity_input;
using recgrad::testing::Tolerance;

namespace {

/// layer_norm over the trailing `normalized` dims of a random `shape`, with weight and/or bias when asked.
void expect_layer_norm_parity(const Shape& shape, const Shape& normalized, bool with_weight, bool with_bias,
                              Tolerance tol = {}) {
  std::vector<Tensor> inputs;
  inputs.reserve(3);
  inputs.push_back(parity_input(shape, 101));
  if (with_weight) inputs.push_back(parity_input(normalized, 102));
  if (with_bias) inputs.push_back(parity_input(normalized, 103));
  expect_cuda_parity(
      [&](const std::vector<Tensor>& in) {
        const Tensor weight = with_weight ? in[1] : Tensor();
        const Tensor bias = with_bias ? in[with_weight ? 2 : 1] : Tensor();
        return layer_norm(in[0], normalized, weight, bias);
      },
      inputs, tol,
      "layer_norm " + shape_str(shape) + " over " + shape_str(normalized) + (with_weight ? " weight" : "") +
          (with_bias ? " bias" : ""));
}

void expect_rms_norm_parity(const Shape& shape, const Shape& normalized, bool with_weight, Tolerance tol = {}) {
  std::vector<Tensor> inputs;
  inputs.reserve(2);
  inputs.push_back(parity_input(shape, 111));
  if (with_weight) inputs.push_back(parity_input(normalized, 112));
  expect_cuda_parity(
      [&](const std::vector<Tensor>& in) { return rms_norm(in[0], normalized, with_weight ? in[1] : Tensor()); },
      inputs, tol, "rms_norm " + shape_str(shape) + " over " + shape_str(normalized) + (with_weight ? " weight" : ""));
}

}  // namespace

TEST(CudaParityNorm, RecommenderShape) {
  SKIP_WITHOUT_CUDA();
  // [batch 256 * seq 50, dim 64]. Output and input gradient at the default tolerance (weight and bias
  // fixed) ...
  const Shape shape{256 * 50, 64};
  const Tensor x = parity_input(shape, 101);
  const Tensor weight = parity_input({64}, 102).detach(), bias = parity_input({64}, 103).detach();
  expect_cuda_parity([&](const std::vector<Tensor>& in) { return layer_norm(in[0], {64}, weight, bias); }, {x},
                     Tolerance{}, "layer_norm [12800, 64] (dx)");
  expect_cuda_parity([&](const std::vector<Tensor>& in) { return rms_norm(in[0], {64}, weight); }, {x}, Tolerance{},
                     "rms_norm [12800, 64] (dx)");
  // ... then dweight/dbias, which sum 12800 rows (blocks of 64 rows in the CPU's order). The rows' xhat
  // differ between the devices by ~5e-8 relative (mean/rstd are reduced in different orders), so a column
  // sum of 12800 terms g * xhat differs by ~5e-8 * sqrt(12800) ~ 6e-6 absolute: atol 1e-4 (dbias, a sum of
  // g alone, comes out identical).
  const Tensor detached = x.detach();
  expect_cuda_parity([&](const std::vector<Tensor>& in) { return layer_norm(detached, {64}, in[0], in[1]); },
                     {parity_input({64}, 102), parity_input({64}, 103)}, Tolerance{1e-5, 1e-4},
                     "layer_norm [12800, 64] (dweight, dbias)");
  expect_cuda_parity([&](const std::vector<Tensor>& in) { return rms_norm(detached, {64}, in[0]); },
                     {parity_input({64}, 102)}, Tolerance{1e-5, 1e-4}, "rms_norm [12800, 64] (dweight)");
}

TEST(CudaParityNorm, WithAndWithoutWeightAndBias) {
  SKIP_WITHOUT_CUDA();
  for (bool with_weight : {false, true}) {
    for (bool with_bias : {false, true}) expect_layer_norm_parity({37, 48}, {48}, with_weight, with_bias);
    expect_rms_norm_parity({37, 48}, {48}, with_weight);
  }
}

TEST(CudaParityNorm, TwoTrailingDims) {
  SKIP_WITHOUT_CUDA();
  expect_layer_norm_parity({6, 5, 8, 16}, {8, 16}, true, true);
  expect_layer_norm_parity({6, 5, 8, 16}, {8, 16}, false, false);
  expect_rms_norm_parity({6, 5, 8, 16}, {8, 16}, true);
  // The whole tensor as one row.
  expect_layer_norm_parity({7, 33}, {7, 33}, true, true);
}

TEST(CudaParityNorm, OddWidths) {
  SKIP_WITHOUT_CUDA();
  // Widths up to 2048 take a warp per row; 4099 and 20011 take a block per row (256 and 1024 threads).
  for (std::int64_t width : {std::int64_t{1}, std::int64_t{7}, std::int64_t{33}, std::int64_t{1000}, std::int64_t{4099},
                             std::int64_t{20011}}) {
    for (std::int64_t rows : {std::int64_t{1}, std::int64_t{67}}) {
      if (width > 4099 && rows > 1) continue;  // keep the suite quick
      expect_layer_norm_parity({rows, width}, {width}, true, true);
      expect_layer_norm_parity({rows, width}, {width}, false, false);
      // Width 1: rms_norm's dx = rstd g eps / (x^2 + eps) is the difference of two nearly equal terms
      // (g and g xhat^2), which each device rounds differently (FMA contraction): ~1e-7 * rstd * |g| absolute.
      const Tolerance rms_tol = width == 1 ? Tolerance{1e-5, 1e-4} : Tolerance{};
      expect_rms_norm_parity({rows, width}, {width}, true, rms_tol);
      expect_rms_norm_parity({rows, width}, {width}, false, rms_tol);
    }
  }
}

TEST(CudaParityNorm, StridedInputs) {
  SKIP_WITHOUT_CUDA();
  const std::int64_t rows = 45, width = 33;
  const Tensor weight = parity_input({width}, 121), bias = parity_input({width}, 122);
  // Transposed input, and a column slice of a wider matrix.
  expect_cuda_parity(
      [&](const std::vector<Tensor>& in) { return layer_norm(transpose(in[0], 0, 1), {width}, in[1], in[2]); },
      {parity_input({width, rows}, 123), weight, bias}, Tolerance{}, "layer_norm transposed");
  expect_cuda_parity(
      [&](const std::vector<Tensor>& in) { return rms_norm(slice(in[0], 1, 1, 1 + width), {width}, in[1]); },
      {parity_input({rows, width + 5}, 124), weight}, Tolerance{}, "rms_norm column slice");
  // A weight broadcast from one value (stride 0), an input broadcast over rows.
  expect_cuda_parity(
      [&](const std::vector<Tensor>& in) {
        return layer_norm(expand(in[0], {rows, width}), {width}, expand(in[1], {width}), in[2]);
      },
      {parity_input({1, width}, 125), parity_input({1}, 126), bias}, Tolerance{}, "layer_norm expanded");
}

TEST(CudaParityNorm, SavedStatisticsMatch) {
  SKIP_WITHOUT_CUDA();
  const Tensor x = parity_input({300, 129}, 131).detach();
  const Tensor w = parity_input({129}, 132).detach(), b = parity_input({129}, 133).detach();
  const Tensor dx = raw::to_device(x, Device::cuda()), dw = raw::to_device(w, Device::cuda()),
               db = raw::to_device(b, Device::cuda());
  const raw::NormForward cpu_layer = raw::layer_norm(x, {129}, w, b, 1e-5);
  const raw::NormForward cuda_layer = raw::layer_norm(dx, {129}, dw, db, 1e-5);
  expect_close(cpu_layer.mean, cuda_layer.mean, Tolerance{}, "layer_norm mean");
  expect_close(cpu_layer.rstd, cuda_layer.rstd, Tolerance{}, "layer_norm rstd");
  const raw::NormForward cpu_rms = raw::rms_norm(x, {129}, w, 1e-6);
  const raw::NormForward cuda_rms = raw::rms_norm(dx, {129}, dw, 1e-6);
  EXPECT_FALSE(cuda_rms.mean.defined());
  expect_close(cpu_rms.rstd, cuda_rms.rstd, Tolerance{}, "rms_norm rstd");
  // Raw backward with only some gradients requested, f64 too.
  const Tensor g = parity_input({300, 129}, 134).detach();
  const raw::NormGrads cpu_grads = raw::layer_norm_backward(g, x, cpu_layer, w, {129}, false, true, true);
  const raw::NormGrads cuda_grads =
      raw::layer_norm_backward(raw::to_device(g, Device::cuda()), dx, cuda_layer, dw, {129}, false, true, true);
  EXPECT_FALSE(cuda_grads.x.defined());
  expect_close(cpu_grads.weight, cuda_grads.weight, Tolerance{}, "layer_norm dweight only");
  expect_close(cpu_grads.bias, cuda_grads.bias, Tolerance{}, "layer_norm dbias only");
  expect_layer_norm_parity({0, 16}, {16}, true, true);
  const Tensor x64 = parity_input({50, 77}, 135, DType::f64);
  expect_cuda_parity([](const std::vector<Tensor>& in) { return layer_norm(in[0], {77}); }, {x64},
                     Tolerance{1e-12, 1e-12}, "layer_norm f64");
}

TEST(CudaParityNorm, MismatchedDevicesThrow) {
  SKIP_WITHOUT_CUDA();
  const Tensor x = raw::to_device(parity_input({4, 8}, 141).detach(), Device::cuda());
  const Tensor cpu_weight = parity_input({8}, 142).detach();
  expect_error([&] { raw::layer_norm(x, {8}, cpu_weight, Tensor(), 1e-5); }, {"layer_norm", "weight on cpu"});
  expect_error([&] { raw::rms_norm(x, {8}, cpu_weight, 1e-6); }, {"rms_norm", "weight on cpu"});
}
