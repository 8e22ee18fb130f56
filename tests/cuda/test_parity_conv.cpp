// CPU-vs-CUDA parity of convolution and pooling, forward and backward: conv2d (stride, padding, dilation,
// groups, with and without bias, odd sizes, unbatched, a batch large enough to run in chunks, Caser's
// horizontal and vertical filters), conv1d, and max/avg pooling 1d/2d (overlapping windows, padding,
// dilation, ceil_mode, count_include_pad) and global max pooling, in f32 and f64. Skips without a GPU.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "autograd/ops/conv.h"
#include "autograd/ops/pooling.h"
#include "cuda/parity.h"
#include "nn/conv.h"
#include "recgrad.h"

using namespace recgrad;
using recgrad::testing::expect_close;
using recgrad::testing::expect_cuda_parity;
using recgrad::testing::parity_input;
using recgrad::testing::Tolerance;

namespace {

// cuBLAS and OpenBLAS add the GEMM products in different orders: f32 sums over up to 640 terms.
constexpr Tolerance kConvF32{1e-4, 1e-5};
constexpr Tolerance kF64{1e-10, 1e-12};

struct ConvCase {
  std::string name;
  Shape x, weight;
  bool bias;
  Conv2dOptions options;
};

std::vector<ConvCase> conv_cases() {
  return {
      {"plain", {2, 3, 7, 6}, {4, 3, 3, 3}, true, {}},
      {"stride 2 padding 1", {3, 3, 9, 7}, {5, 3, 3, 3}, true, {.stride = {2, 2}, .padding = {1, 1}}},
      {"dilation 2 no bias",
       {2, 2, 11, 9},
       {3, 2, 3, 2},
       false,
       {.stride = {1, 2}, .padding = {2, 1}, .dilation = {2, 2}}},
      {"groups", {2, 6, 8, 5}, {9, 2, 2, 3}, true, {.padding = {1, 0}, .groups = 3}},
      {"1x1", {4, 8, 5, 5}, {16, 8, 1, 1}, true, {}},
      {"caser horizontal h=4", {64, 1, 10, 64}, {16, 1, 4, 64}, true, {}},
      {"caser vertical", {64, 1, 10, 64}, {4, 1, 10, 1}, true, {}},
      {"chunked batch", {5, 16, 64, 64}, {4, 16, 3, 3}, true, {.padding = {1, 1}}},
  };
}

}  // namespace

TEST(ParityConv, Conv2dForwardAndBackward) {
  SKIP_WITHOUT_CUDA();
  for (const DType dtype : {DType::f32, DType::f64}) {
    for (const ConvCase& c : conv_cases()) {
      if (dtype == DType::f64 && c.name == "chunked batch") continue;
      SCOPED_TRACE(c.name);
      std::vector<Tensor> inputs{parity_input(c.x, 1, dtype), parity_input(c.weight, 2, dtype)};
      if (c.bias) inputs.push_back(parity_input({c.weight[0]}, 3, dtype));
      const Conv2dOptions options = c.options;
      expect_cuda_parity(
          [options](const std::vector<Tensor>& in) {
            return conv2d(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), options);
          },
          inputs, dtype == DType::f64 ? kF64 : kConvF32, "conv2d " + c.name);
    }
  }
}

TEST(ParityConv, Conv2dUnbatchedAndOnlySomeGradients) {
  SKIP_WITHOUT_CUDA();
  // Unbatched [C, H, W].
  expect_cuda_parity(
      [](const std::vector<Tensor>& in) {
        return conv2d(in[0], in[1], in[2], {.stride = {2, 1}});
      },
      {parity_input({3, 6, 5}, 4), parity_input({2, 3, 2, 2}, 5), parity_input({2}, 6)}, kConvF32, "conv2d unbatched");
  // Only the weight requires a gradient (the x gradient is skipped), then only the input.
  Tensor x = parity_input({2, 3, 6, 6}, 7);
  x.requires_grad_(false);
  expect_cuda_parity(
      [](const std::vector<Tensor>& in) {
        return conv2d(in[0], in[1], Tensor(), {.padding = {1, 1}});
      },
      {x, parity_input({4, 3, 3, 3}, 8)}, kConvF32, "conv2d weight only");
  Tensor w = parity_input({4, 3, 3, 3}, 9);
  w.requires_grad_(false);
  expect_cuda_parity(
      [](const std::vector<Tensor>& in) {
        return conv2d(in[0], in[1], Tensor(), {.padding = {1, 1}});
      },
      {parity_input({2, 3, 6, 6}, 10), w}, kConvF32, "conv2d input only");
}

TEST(ParityConv, Conv1d) {
  SKIP_WITHOUT_CUDA();
  expect_cuda_parity(
      [](const std::vector<Tensor>& in) {
        return conv1d(in[0], in[1], in[2], {.stride = 2, .padding = 1, .dilation = 2});
      },
      {parity_input({4, 3, 33}, 1), parity_input({5, 3, 3}, 2), parity_input({5}, 3)}, kConvF32, "conv1d");
}

TEST(ParityConv, Conv2dModuleOnTheDevice) {
  SKIP_WITHOUT_CUDA();
  manual_seed(11);
  nn::Conv2d cpu_layer(3, 4, {3, 2}, {.stride = {2, 1}, .padding = {1, 1}});
  manual_seed(11);
  nn::Conv2d gpu_layer(3, 4, {3, 2}, {.stride = {2, 1}, .padding = {1, 1}});
  gpu_layer.to(Device::cuda());
  const Tensor x = parity_input({2, 3, 9, 8}, 12);
  const Tensor y_cpu = cpu_layer(x), y_gpu = gpu_layer(raw::to_device(x, Device::cuda()));
  expect_close(y_cpu, y_gpu, kConvF32, "Conv2d module");
  sum(y_cpu).backward();
  sum(y_gpu).backward();
  expect_close(cpu_layer.weight.grad(), gpu_layer.weight.grad(), kConvF32, "Conv2d module weight grad");
  expect_close(cpu_layer.bias.grad(), gpu_layer.bias.grad(), kConvF32, "Conv2d module bias grad");
}

TEST(ParityPooling, MaxAndAvgPooling) {
  SKIP_WITHOUT_CUDA();
  using Fn = std::function<Tensor(const Tensor&)>;
  const std::vector<std::pair<std::string, Fn>> pools = {
      {"max 3x3 stride 2 pad 1",
       [](const Tensor& x) {
         return max_pool2d(x, {.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}});
       }},
      {"max overlapping",
       [](const Tensor& x) {
         return max_pool2d(x, {.kernel = {3, 3}, .stride = {1, 1}});
       }},
      {"max dilation ceil",
       [](const Tensor& x) {
         return max_pool2d(
             x, {.kernel = {2, 3}, .stride = {2, 1}, .padding = {1, 1}, .dilation = {2, 1}, .ceil_mode = true});
       }},
      {"avg include pad",
       [](const Tensor& x) {
         return avg_pool2d(x, {.kernel = {3, 2}, .stride = {2, 1}, .padding = {1, 1}});
       }},
      {"avg exclude pad ceil",
       [](const Tensor& x) {
         return avg_pool2d(x, {.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}, .ceil_mode = true}, false);
       }},
      {"max 1d",
       [](const Tensor& x) {
         return max_pool1d(reshape(x, {x.size(0), -1, x.size(3)}), {.kernel = 3, .stride = 2, .padding = 1});
       }},
      {"avg 1d",
       [](const Tensor& x) {
         return avg_pool1d(reshape(x, {x.size(0), -1, x.size(3)}), {.kernel = 4, .stride = 3, .padding = 2});
       }},
      {"global max", [](const Tensor& x) { return global_max_pool(x, 2); }},
  };
  for (const DType dtype : {DType::f32, DType::f64}) {
    for (const Shape& shape : {Shape{2, 3, 7, 8}, Shape{3, 5, 33, 17}}) {
      for (const auto& [name, fn] : pools) {
        SCOPED_TRACE(name);
        expect_cuda_parity([fn](const std::vector<Tensor>& in) { return fn(in[0]); }, {parity_input(shape, 21, dtype)},
                           dtype == DType::f64 ? kF64 : Tolerance{}, name);
      }
    }
  }
}
