// Convolution and pooling: Conv1d/Conv2d layouts and initialisation, conv2d against a direct loop,
// gradchecks in f64 (stride, padding, dilation, groups, odd sizes, with and without bias, unbatched
// inputs), batch chunking, the pooling ops and GlobalMaxPool, errors on bad shapes, and PyTorch fixtures
// (tests/fixtures/make_conv_fixtures.py): outputs and all gradients to 1e-5 relative in f32.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "autograd/ops/conv.h"
#include "autograd/ops/pooling.h"
#include "nn/conv.h"
#include "nn/pooling.h"
#include "nn_test_util.h"
#include "recgrad.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::nn;
using namespace recgrad::nn::testing;
using recgrad::testing::expect_all_close;
using recgrad::testing::expect_error;
using recgrad::testing::randn64;
using recgrad::testing::expect_gradcheck_all;

namespace {

// conv2d by its definition, in f64 loops: the reference the im2row + GEMM path is checked against.
Tensor direct_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dOptions& o) {
  const std::int64_t B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const std::int64_t O = w.size(0), Cg = w.size(1), kh = w.size(2), kw = w.size(3), Og = O / o.groups;
  const std::int64_t Ho = (H + 2 * o.padding[0] - o.dilation[0] * (kh - 1) - 1) / o.stride[0] + 1;
  const std::int64_t Wo = (W + 2 * o.padding[1] - o.dilation[1] * (kw - 1) - 1) / o.stride[1] + 1;
  const std::vector<double> xv = x.to_vector<double>(), wv = w.to_vector<double>();
  const std::vector<double> bv = b.defined() ? b.to_vector<double>() : std::vector<double>(O, 0.0);
  std::vector<double> y(B * O * Ho * Wo);
  for (std::int64_t n = 0; n < B; ++n)
    for (std::int64_t oc = 0; oc < O; ++oc)
      for (std::int64_t oh = 0; oh < Ho; ++oh)
        for (std::int64_t ow = 0; ow < Wo; ++ow) {
          double acc = bv[oc];
          for (std::int64_t c = 0; c < Cg; ++c)
            for (std::int64_t i = 0; i < kh; ++i)
              for (std::int64_t j = 0; j < kw; ++j) {
                const std::int64_t ih = oh * o.stride[0] - o.padding[0] + i * o.dilation[0];
                const std::int64_t iw = ow * o.stride[1] - o.padding[1] + j * o.dilation[1];
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                const std::int64_t ic = (oc / Og) * Cg + c;
                acc += wv[((oc * Cg + c) * kh + i) * kw + j] * xv[((n * C + ic) * H + ih) * W + iw];
              }
          y[((n * O + oc) * Ho + oh) * Wo + ow] = acc;
        }
  return from_vector(y, {B, O, Ho, Wo});
}

// conv2d of (x, w[, b]) for gradcheck.
std::function<Tensor(const std::vector<Tensor>&)> conv2d_fn(const Conv2dOptions& options) {
  return [options](const std::vector<Tensor>& in) {
    return conv2d(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), options);
  };
}

nn::SafetensorsContents load_fixture(const std::string& name) {
  return read_safetensors(std::string(RECGRAD_TEST_DATA_DIR) + "/nn/" + name + ".safetensors");
}

// The fixture tensors of case `name` whose names start with "<name>.param." as a state dict.
StateDict case_parameters(const StateDict& fixture, const std::string& name) {
  const std::string prefix = name + ".param.";
  StateDict params;
  for (const auto& [key, tensor] : fixture)
    if (key.rfind(prefix, 0) == 0) params.insert(key.substr(prefix.size()), tensor);
  return params;
}

// Runs `module` on the case's input, backpropagates its grad_out, and compares the output and every gradient.
template <typename M>
void check_module_case(M& module, const StateDict& fixture, const std::string& name) {
  module.load_state_dict(case_parameters(fixture, name));
  Tensor x = clone(fixture.at(name + ".x")).requires_grad_();
  const Tensor out = module(x);
  expect_all_close(fixture.at(name + ".out"), out, name + ": output");
  out.backward(fixture.at(name + ".grad_out"));
  expect_all_close(fixture.at(name + ".grad.x"), x.grad(), name + ": grad x");
  for (const auto& [pname, param] : module.named_parameters())
    expect_all_close(fixture.at(name + ".grad.param." + pname), param.grad(), name + ": grad " + pname);
}

// (height, width) from a JSON int or [int, int].
std::array<std::int64_t, 2> pair_of(const nlohmann::json& j, const char* key, std::int64_t fallback) {
  if (!j.contains(key)) return {fallback, fallback};
  if (j[key].is_array()) return {j[key][0].get<std::int64_t>(), j[key][1].get<std::int64_t>()};
  return {j[key].get<std::int64_t>(), j[key].get<std::int64_t>()};
}

}  // namespace

// ---- layers ----

TEST(Conv2d, PyTorchLayoutAndInitialisation) {
  manual_seed(1);
  Conv2d layer(6, 32, {3, 5}, {.groups = 2});
  EXPECT_EQ(layer.weight.shape(), (Shape{32, 3, 3, 5}));
  EXPECT_EQ(layer.bias.shape(), (Shape{32}));
  EXPECT_EQ(names_of(layer.named_parameters()), (std::vector<std::string>{"weight", "bias"}));
  const double bound = 1.0 / std::sqrt(3.0 * 3 * 5);  // fan_in = in/groups * kh * kw
  for (const Tensor& t : {layer.weight, layer.bias}) {
    double largest = 0;
    for (double v : t.to_vector<double>()) largest = std::max(largest, std::abs(v));
    EXPECT_LE(largest, bound);
    EXPECT_GT(largest, 0.8 * bound);
  }
  Conv2d no_bias(1, 2, {2, 2}, {}, false);
  EXPECT_FALSE(no_bias.bias.defined());
  EXPECT_EQ(names_of(no_bias.named_parameters()), std::vector<std::string>{"weight"});
}

TEST(Conv1d, PyTorchLayoutAndForwardIsConv2dOfHeightOne) {
  manual_seed(2);
  Conv1d layer(4, 3, 5, {.stride = 2, .padding = 2, .dilation = 1});
  EXPECT_EQ(layer.weight.shape(), (Shape{3, 4, 5}));
  const Tensor x = randn({2, 4, 13});
  const Tensor y = layer(x);
  EXPECT_EQ(y.shape(), (Shape{2, 3, 7}));
  const Tensor expected = squeeze(
      direct_conv2d(unsqueeze(x, 2), unsqueeze(layer.weight, 2), layer.bias, {.stride = {1, 2}, .padding = {0, 2}}), 2);
  expect_all_close(expected, y, "conv1d");
  // Unbatched [C, L].
  expect_all_close(select(expected, 0, 0), layer(select(x, 0, 0)), "conv1d unbatched");
}

// ---- conv2d against its definition ----

TEST(Conv2dOp, MatchesTheDirectLoop) {
  const std::vector<std::pair<Shape, Conv2dOptions>> cases = {
      {{2, 3, 7, 6}, {}},
      {{2, 3, 7, 6}, {.stride = {2, 2}, .padding = {1, 1}}},
      {{1, 3, 9, 8}, {.stride = {2, 1}, .padding = {2, 0}, .dilation = {2, 3}}},
      {{3, 3, 5, 5}, {.stride = {3, 3}, .padding = {1, 2}}},
  };
  for (const auto& [shape, options] : cases) {
    const Tensor x = randn64(shape, 10), w = randn64({4, 3, 3, 2}, 11), b = randn64({4}, 12);
    expect_all_close(direct_conv2d(x, w, b, options), conv2d(x, w, b, options), "conv2d", 1e-12, 1e-12);
    expect_all_close(direct_conv2d(x, w, Tensor(), options), conv2d(x, w, Tensor(), options), "conv2d no bias", 1e-12,
                 1e-12);
  }
  // Groups: 6 input channels, 3 groups of 2, 6 outputs.
  const Tensor x = randn64({2, 6, 5, 4}, 13), w = randn64({6, 2, 2, 3}, 14), b = randn64({6}, 15);
  const Conv2dOptions grouped{.padding = {1, 1}, .groups = 3};
  expect_all_close(direct_conv2d(x, w, b, grouped), conv2d(x, w, b, grouped), "conv2d groups", 1e-12, 1e-12);
  // A non-contiguous input gives the same result.
  const Tensor xt = transpose(randn64({2, 3, 6, 7}, 16), 2, 3);
  const Tensor w3 = randn64({4, 3, 3, 2}, 11);
  expect_all_close(direct_conv2d(contiguous(xt), w3, Tensor(), {}), conv2d(xt, w3), "transposed", 1e-12, 1e-12);
}

TEST(Conv2dOp, BatchChunksAgreeWithPerSampleConvolutions) {
  // Over 2^21 patch entries in all, so each batch runs in chunks: 16 x 64 x 64 with a 3x3 kernel (590k entries
  // per sample, the CPU's channel-major layout), and 64 x 64 x 48 with a (3, 48) kernel (590k per sample,
  // position-major).
  struct Case {
    Shape x, w;
    Conv2dOptions options;
  };
  for (const Case& c : {Case{{5, 16, 64, 64}, {4, 16, 3, 3}, {.padding = {1, 1}}},
                        Case{{5, 64, 64, 48}, {3, 64, 3, 48}, {.padding = {1, 0}}}}) {
    manual_seed(20);
    const std::int64_t batch = c.x[0];
    const Tensor x = randn(c.x).requires_grad_();
    const Tensor w = mul(randn(c.w), 0.1).detach().requires_grad_();
    const Tensor b = randn({c.w[0]}).requires_grad_();
    const Tensor y = conv2d(x, w, b, c.options);
    const Tensor g = randn(y.shape());
    y.backward(g);
    Tensor dw_sum, db_sum;
    for (std::int64_t n = 0; n < batch; ++n) {
      const Tensor xs = narrow(x.detach(), 0, n, 1).requires_grad_();
      const Tensor ws = w.detach().requires_grad_(), bs = b.detach().requires_grad_();
      const Tensor ys = conv2d(xs, ws, bs, c.options);
      expect_all_close(ys, narrow(y.detach(), 0, n, 1), "sample output");
      ys.backward(narrow(g, 0, n, 1));
      expect_all_close(xs.grad(), narrow(x.grad(), 0, n, 1), "sample grad x");
      dw_sum = dw_sum.defined() ? add(dw_sum, ws.grad()) : ws.grad();
      db_sum = db_sum.defined() ? add(db_sum, bs.grad()) : bs.grad();
    }
    expect_all_close(dw_sum, w.grad(), "grad w", 1e-4, 1e-4);
    expect_all_close(db_sum, b.grad(), "grad b", 1e-4, 1e-4);
  }
}

// ---- gradchecks (f64) ----

TEST(Conv2dOp, Gradcheck) {
  // Stride 2, padding 1, odd sizes, bias.
  expect_gradcheck_all(conv2d_fn({.stride = {2, 2}, .padding = {1, 1}}),
                       {randn64({2, 3, 7, 5}, 1), randn64({4, 3, 3, 3}, 2), randn64({4}, 3)});
  // Dilation 2, uneven stride and padding, no bias.
  expect_gradcheck_all(conv2d_fn({.stride = {1, 2}, .padding = {2, 1}, .dilation = {2, 2}}),
                       {randn64({2, 2, 7, 9}, 4), randn64({3, 2, 3, 2}, 5)});
  // Groups, and a kernel as wide as the input (Caser's horizontal filter).
  expect_gradcheck_all(conv2d_fn({.padding = {1, 0}, .groups = 2}),
                       {randn64({2, 4, 5, 3}, 6), randn64({6, 2, 2, 3}, 7), randn64({6}, 8)});
  expect_gradcheck_all(conv2d_fn({}), {randn64({3, 1, 6, 5}, 9), randn64({2, 1, 3, 5}, 10), randn64({2}, 11)});
  // Unbatched [C, H, W].
  expect_gradcheck_all(conv2d_fn({.stride = {2, 1}}), {randn64({2, 5, 4}, 12), randn64({3, 2, 2, 2}, 13)});
  // Output rows no longer than kernel rows (the CPU's position-major patch layout) with stride, padding and
  // dilation along the width; the cases above with wider outputs use the channel-major layout.
  expect_gradcheck_all(conv2d_fn({.stride = {2, 2}, .padding = {1, 1}, .dilation = {1, 2}}),
                       {randn64({2, 2, 6, 4}, 14), randn64({3, 2, 2, 3}, 15), randn64({3}, 16)});
  expect_gradcheck_all(conv2d_fn({.stride = {1, 3}, .padding = {0, 2}}),
                       {randn64({2, 3, 4, 5}, 17), randn64({2, 3, 2, 4}, 18)});
  // One channel and a kernel as wide as the input, rows not overlapping: the patches are a view of x (no
  // im2row), covering x exactly (stride = kernel height), or not (dx is zero-filled first).
  expect_gradcheck_all(conv2d_fn({.stride = {2, 1}}),
                       {randn64({2, 1, 6, 4}, 19), randn64({2, 1, 2, 4}, 20), randn64({2}, 21)});
  expect_gradcheck_all(conv2d_fn({.stride = {2, 1}}), {randn64({2, 1, 6, 4}, 22), randn64({2, 1, 1, 4}, 23)});
  expect_gradcheck_all(conv2d_fn({.stride = {3, 1}}), {randn64({2, 1, 5, 4}, 24), randn64({3, 1, 3, 4}, 25)});
}

TEST(Conv1dOp, Gradcheck) {
  auto fn = [](const Conv1dOptions& options) {
    return [options](const std::vector<Tensor>& in) {
      return conv1d(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), options);
    };
  };
  expect_gradcheck_all(fn({.stride = 2, .padding = 1, .dilation = 2}),
                       {randn64({2, 3, 11}, 1), randn64({4, 3, 3}, 2), randn64({4}, 3)});
  expect_gradcheck_all(fn({.padding = 2}), {randn64({3, 9}, 4), randn64({2, 3, 4}, 5)});
}

TEST(ConvLayers, GradcheckThroughModules) {
  manual_seed(7);
  Conv2d conv(2, 3, {3, 2}, {.stride = {2, 1}, .padding = {1, 1}, .dilation = {1, 2}});
  conv.to_dtype(DType::f64);
  const Tensor x = randn64({2, 2, 6, 5}, 8);
  expect_gradcheck_all([&](const std::vector<Tensor>& in) { return conv(in[0]); }, {x, conv.weight, conv.bias});
  Conv1d conv1(3, 2, 3, {.stride = 2, .padding = 1});
  conv1.to_dtype(DType::f64);
  expect_gradcheck_all([&](const std::vector<Tensor>& in) { return conv1(in[0]); },
                       {randn64({2, 3, 8}, 9), conv1.weight, conv1.bias});
}

TEST(Pooling, Gradcheck) {
  // Random inputs have no ties, so the max is differentiable at the test point.
  auto unary = [](std::function<Tensor(const Tensor&)> f) {
    return [f](const std::vector<Tensor>& in) { return f(in[0]); };
  };
  expect_gradcheck_all(unary([](const Tensor& x) {
                         return max_pool2d(x, {.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}});
                       }),
                       {randn64({2, 3, 7, 6}, 1)});
  expect_gradcheck_all(
      unary([](const Tensor& x) {
        return max_pool2d(
            x, {.kernel = {2, 3}, .stride = {2, 1}, .padding = {1, 1}, .dilation = {2, 1}, .ceil_mode = true});
      }),
      {randn64({2, 2, 7, 5}, 2)});
  // Overlapping windows (stride 1): one input element can be the max of several windows.
  expect_gradcheck_all(unary([](const Tensor& x) {
                         return max_pool2d(x, {.kernel = {3, 3}, .stride = {1, 1}});
                       }),
                       {randn64({1, 2, 5, 6}, 3)});
  expect_gradcheck_all(unary([](const Tensor& x) {
                         return avg_pool2d(x, {.kernel = {3, 2}, .stride = {2, 1}, .padding = {1, 1}});
                       }),
                       {randn64({2, 3, 7, 6}, 4)});
  expect_gradcheck_all(unary([](const Tensor& x) {
                         return avg_pool2d(x,
                                           {.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}, .ceil_mode = true},
                                           /*count_include_pad=*/false);
                       }),
                       {randn64({2, 6, 8}, 5)});
  expect_gradcheck_all(unary([](const Tensor& x) { return max_pool1d(x, {.kernel = 3, .stride = 2, .padding = 1}); }),
                       {randn64({2, 3, 10}, 6)});
  expect_gradcheck_all(unary([](const Tensor& x) { return avg_pool1d(x, {.kernel = 4, .stride = 3, .padding = 2}); }),
                       {randn64({3, 11}, 7)});
  expect_gradcheck_all(unary([](const Tensor& x) { return global_max_pool(x, 2); }), {randn64({2, 3, 6}, 8)});
}

TEST(Pooling, MaxPoolForwardAndTies) {
  // [[1, 5, 2], [5, 0, 3]] with 2x2 windows at stride 1: (5, 5) and (5, 3); the first maximum takes the gradient.
  Tensor x = from_vector(std::vector<double>{1, 5, 2, 5, 0, 3}, {1, 1, 2, 3}).requires_grad_();
  const Tensor y = max_pool2d(x, {.kernel = {2, 2}, .stride = {1, 1}});
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{5, 5}));
  sum(y).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0, 2, 0, 0, 0, 0}));
  // Padding never wins: an all-negative input pooled with padding 1 keeps its own values.
  const Tensor neg = from_vector(std::vector<double>{-3, -2, -1, -4}, {1, 1, 2, 2});
  EXPECT_EQ(max_pool2d(neg, {.kernel = {2, 2}, .stride = {2, 2}, .padding = {1, 1}}).to_vector<double>(),
            (std::vector<double>{-3, -2, -1, -4}));
}

TEST(Pooling, AvgPoolCountsPaddingByDefault) {
  const Tensor x = from_vector(std::vector<double>{1, 2, 3, 4}, {1, 1, 2, 2});
  // One 2x2 window at each corner of the zero-padded input: each holds one value.
  EXPECT_EQ(avg_pool2d(x, {.kernel = {2, 2}, .stride = {2, 2}, .padding = {1, 1}}).to_vector<double>(),
            (std::vector<double>{0.25, 0.5, 0.75, 1.0}));
  EXPECT_EQ(avg_pool2d(x, {.kernel = {2, 2}, .stride = {2, 2}, .padding = {1, 1}}, false).to_vector<double>(),
            (std::vector<double>{1, 2, 3, 4}));
}

TEST(GlobalMaxPool, CaserMaxOverTime) {
  // [B, n_h, T] -> [B, n_h]: the max over time; the gradient goes to the first maximum.
  Tensor x = from_vector(std::vector<double>{1, 3, 3, 0, -1, -2}, {1, 2, 3}).requires_grad_();
  GlobalMaxPool pool;
  const Tensor y = pool(x);
  EXPECT_EQ(y.shape(), (Shape{1, 2}));
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{3, 0}));
  sum(y).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0, 1, 0, 1, 0, 0}));
  EXPECT_EQ(GlobalMaxPool(1, true)(x).shape(), (Shape{1, 1, 3}));
}

TEST(PoolingModules, ForwardMatchesTheFunctions) {
  const Tensor x = randn64({2, 3, 8, 7}, 30);
  const Pool2dOptions o{.kernel = {3, 2}, .stride = {2, 2}, .padding = {1, 1}};
  EXPECT_TRUE(bit_equal(MaxPool2d(o)(x), max_pool2d(x, o)));
  EXPECT_TRUE(bit_equal(AvgPool2d(o, false)(x), avg_pool2d(x, o, false)));
  const Tensor x1 = randn64({2, 3, 9}, 31);
  EXPECT_TRUE(bit_equal(MaxPool1d({.kernel = 2})(x1), max_pool1d(x1, {.kernel = 2, .stride = 2})));
  EXPECT_EQ(AvgPool1d({.kernel = 3})(x1).shape(), (Shape{2, 3, 3}));
}

// ---- errors ----

TEST(ConvErrors, BadShapesThrowWithTheShapes) {
  const Tensor x = zeros({2, 3, 5, 5}), w = zeros({4, 3, 3, 3});
  expect_error([&] { conv2d(zeros({3, 5, 5}), zeros({4, 2, 3, 3})); }, {"conv2d", "channels"});
  expect_error([&] { conv2d(x, zeros({4, 2, 3, 3})); }, {"conv2d", "[2, 3, 5, 5]", "[4, 2, 3, 3]"});
  expect_error([&] { conv2d(x, zeros({4, 3, 7, 3})); }, {"conv2d", "smaller than the dilated kernel"});
  expect_error([&] { conv2d(x, w, Tensor(), {.dilation = {3, 1}}); }, {"conv2d", "dilated kernel"});
  expect_error([&] { conv2d(x, w, zeros({3})); }, {"conv2d", "bias", "[3]"});
  expect_error([&] { conv2d(x, w, Tensor(), {.stride = {0, 1}}); }, {"conv2d", "stride"});
  expect_error([&] { conv2d(x, w, Tensor(), {.groups = 2}); }, {"conv2d", "groups"});
  expect_error([&] { conv2d(zeros({2, 3, 5}, {DType::f64}), w); }, {"conv2d", "dtype"});
  expect_error([&] { conv2d(zeros({3, 5}), w); }, {"conv2d", "[3, 5]"});
  expect_error([&] { conv1d(zeros({2, 3, 5, 5}), zeros({4, 3, 3})); }, {"conv1d", "[2, 3, 5, 5]"});
  expect_error([&] { Conv2d(3, 4, {3, 3}, {.groups = 2}); }, {"Conv2d", "groups"});
  expect_error([&] { Conv1d(3, 4, 0); }, {"Conv1d", "kernel_size"});
  Conv2d layer(3, 2, {2, 2});
  expect_error([&] { layer(zeros({1, 2, 4, 4})); }, {"conv2d", "channels"});
}

TEST(PoolingErrors, BadShapesThrowWithTheShapes) {
  const Tensor x = zeros({2, 3, 5, 5});
  expect_error([&] { max_pool2d(zeros({5, 5}), {.kernel = {2, 2}}); }, {"max_pool2d", "[5, 5]"});
  expect_error([&] { max_pool2d(x, {.kernel = {2, 2}, .padding = {2, 0}}); }, {"max_pool2d", "half the kernel"});
  expect_error([&] { max_pool2d(x, {.kernel = {6, 2}}); }, {"max_pool2d", "too small"});
  expect_error([&] { max_pool2d(x, {.kernel = {0, 2}}); }, {"max_pool2d", "kernel"});
  expect_error([&] { avg_pool2d(x, {.kernel = {2, 2}, .dilation = {2, 1}}); }, {"avg_pool2d", "dilation"});
  expect_error([&] { avg_pool2d(zeros({2, 3, 5, 5}, {DType::i64}), {.kernel = {2, 2}}); }, {"avg_pool2d", "floating"});
  expect_error([&] { max_pool1d(zeros({2, 3, 5, 5}), {.kernel = 2}); }, {"max_pool1d", "[2, 3, 5, 5]"});
  expect_error([&] { global_max_pool(zeros({2, 3}), 2); }, {"max"});
}

// ---- PyTorch fixtures (f32) ----

TEST(ConvFixtures, Conv1dAndConv2dMatchPyTorch) {
  const nn::SafetensorsContents fixture = load_fixture("conv_layers");
  for (const auto& [name, json_text] : fixture.metadata) {
    SCOPED_TRACE(name);
    const nlohmann::json j = nlohmann::json::parse(json_text);
    const std::int64_t in = j["in_channels"], out = j["out_channels"];
    const bool bias = j.value("bias", true);
    const std::int64_t groups = j.value("groups", 1);
    if (name.rfind("conv2d", 0) == 0) {
      Conv2d layer(in, out, pair_of(j, "kernel_size", 1),
                   {.stride = pair_of(j, "stride", 1),
                    .padding = pair_of(j, "padding", 0),
                    .dilation = pair_of(j, "dilation", 1),
                    .groups = groups},
                   bias);
      check_module_case(layer, fixture.tensors, name);
    } else {
      Conv1d layer(in, out, j["kernel_size"].get<std::int64_t>(),
                   {.stride = j.value("stride", 1),
                    .padding = j.value("padding", 0),
                    .dilation = j.value("dilation", 1),
                    .groups = groups},
                   bias);
      check_module_case(layer, fixture.tensors, name);
    }
  }
  EXPECT_EQ(fixture.metadata.size(), 5u);
}

TEST(ConvFixtures, PoolingMatchesPyTorch) {
  const nn::SafetensorsContents fixture = load_fixture("conv_pooling");
  for (const auto& [name, json_text] : fixture.metadata) {
    SCOPED_TRACE(name);
    const nlohmann::json j = nlohmann::json::parse(json_text);
    Tensor x = clone(fixture.tensors.at(name + ".x")).requires_grad_();
    const bool ceil_mode = j.value("ceil_mode", false);
    Tensor out;
    if (name.find("pool2d") != std::string::npos) {
      const Pool2dOptions o{.kernel = pair_of(j, "kernel_size", 1),
                            .stride = pair_of(j, "stride", 0),
                            .padding = pair_of(j, "padding", 0),
                            .dilation = pair_of(j, "dilation", 1),
                            .ceil_mode = ceil_mode};
      out = name.rfind("max", 0) == 0 ? max_pool2d(x, o) : avg_pool2d(x, o, j.value("count_include_pad", true));
    } else {
      const Pool1dOptions o{.kernel = j["kernel_size"].get<std::int64_t>(),
                            .stride = j.value("stride", 0),
                            .padding = j.value("padding", 0),
                            .dilation = j.value("dilation", 1),
                            .ceil_mode = ceil_mode};
      out = name.rfind("max", 0) == 0 ? max_pool1d(x, o) : avg_pool1d(x, o, j.value("count_include_pad", true));
    }
    expect_all_close(fixture.tensors.at(name + ".out"), out, name + ": output");
    out.backward(fixture.tensors.at(name + ".grad_out"));
    expect_all_close(fixture.tensors.at(name + ".grad.x"), x.grad(), name + ": grad x");
  }
  EXPECT_EQ(fixture.metadata.size(), 7u);
}

TEST(ConvFixtures, CaserHorizontalAndVerticalFiltersMatchPyTorch) {
  // x [2, 1, 10, 64]; horizontal Conv2d(1, 2, (h, 64)) for h = 1..10 and a vertical Conv2d(1, 4, (10, 1)).
  const StateDict fixture = load_fixture("conv_caser").tensors;
  Tensor x = clone(fixture.at("x")).requires_grad_();
  std::vector<std::pair<std::string, std::shared_ptr<Conv2d>>> filters;
  for (int h = 1; h <= 10; ++h)
    filters.emplace_back("h" + std::to_string(h), std::make_shared<Conv2d>(1, 2, std::array<std::int64_t, 2>{h, 64}));
  filters.emplace_back("v", std::make_shared<Conv2d>(1, 4, std::array<std::int64_t, 2>{10, 1}));
  Tensor loss;
  for (auto& [name, conv] : filters) {
    conv->load_state_dict(case_parameters(fixture, name));
    const Tensor out = (*conv)(x);
    expect_all_close(fixture.at(name + ".out"), out, name + ": output");
    const Tensor term = sum(mul(out, fixture.at(name + ".grad_out")));
    loss = loss.defined() ? add(loss, term) : term;
  }
  loss.backward();
  expect_all_close(fixture.at("grad.x"), x.grad(), "grad x");
  for (auto& [name, conv] : filters)
    for (const auto& [pname, param] : conv->named_parameters())
      expect_all_close(fixture.at(name + ".grad.param." + pname), param.grad(), name + ": grad " + pname);
}
