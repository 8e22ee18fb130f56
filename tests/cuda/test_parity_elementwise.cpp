// CPU-vs-CUDA parity of the elementwise ops: math, activations and their backward kernels,
// broadcasting arithmetic, comparisons, where/masked_fill and the strided converting copy, over the odd
// sizes of parity_sizes() and over contiguous, transposed, sliced and expanded inputs. Skips without a GPU.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "core/ops/binary.h"
#include "core/ops/copy.h"
#include "core/ops/unary.h"
#include "cuda/parity.h"
#include "recgrad.h"
#include "test_support.h"

using namespace recgrad;
using recgrad::testing::expect_close;
using recgrad::testing::expect_cuda_parity;
using recgrad::testing::parity_input;
using recgrad::testing::parity_sizes;
using recgrad::testing::Tolerance;

namespace {

using UnaryFn = std::function<Tensor(const Tensor&)>;

struct NamedUnary {
  std::string name;
  UnaryFn fn;
  bool positive_input = false;  // log/sqrt/rsqrt/pow need x > 0
};

std::vector<NamedUnary> unary_ops() {
  return {
      {"exp", [](const Tensor& x) { return exp(x); }},
      {"log", [](const Tensor& x) { return log(x); }, true},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, true},
      {"rsqrt", [](const Tensor& x) { return rsqrt(x); }, true},
      {"abs", [](const Tensor& x) { return abs(x); }},
      {"square", [](const Tensor& x) { return square(x); }},
      {"pow 3", [](const Tensor& x) { return pow(x, 3.0); }},
      {"pow 1.7", [](const Tensor& x) { return pow(x, 1.7); }, true},
      {"pow -0.5", [](const Tensor& x) { return pow(x, -0.5); }, true},
      {"clamp", [](const Tensor& x) { return clamp(x, -0.5, 0.75); }},
      {"relu", [](const Tensor& x) { return relu(x); }},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }},
      {"tanh", [](const Tensor& x) { return tanh(x); }},
      {"silu", [](const Tensor& x) { return silu(x); }},
      {"gelu", [](const Tensor& x) { return gelu(x); }},
      {"gelu tanh", [](const Tensor& x) { return gelu(x, GeluApproximation::Tanh); }},
      {"neg", [](const Tensor& x) { return neg(x); }},
      {"add scalar", [](const Tensor& x) { return add(x, 0.25); }},
      {"rdiv", [](const Tensor& x) { return rdiv(x, 2.0); }, true},
  };
}

/// |x| + 0.1 for the ops that need a positive input (still requiring a gradient).
Tensor positive(const Tensor& x) {
  Tensor y = raw::add(raw::abs(x), scalar_tensor(0.1, {x.dtype(), x.device()}));
  y.requires_grad_();
  return y;
}

}  // namespace

TEST(CudaParityElementwise, UnaryOpsAtOddSizes) {
  SKIP_WITHOUT_CUDA();
  for (const NamedUnary& op : unary_ops()) {
    for (std::int64_t n : parity_sizes()) {
      Tensor x = parity_input({n}, 7 + static_cast<std::uint64_t>(n));
      if (op.positive_input) x = positive(x);
      expect_cuda_parity([&](const std::vector<Tensor>& in) { return op.fn(in[0]); }, {x}, Tolerance{},
                         op.name + " n=" + std::to_string(n));
    }
  }
}

TEST(CudaParityElementwise, UnaryOpsOnStridedViews) {
  SKIP_WITHOUT_CUDA();
  for (const NamedUnary& op : unary_ops()) {
    Tensor x = parity_input({33, 17}, 3);
    if (op.positive_input) x = positive(x);
    // a transposed view and a stepped slice of it: neither is contiguous
    expect_cuda_parity([&](const std::vector<Tensor>& in) { return op.fn(transpose(in[0], 0, 1)); }, {x}, Tolerance{},
                       op.name + " transposed");
    expect_cuda_parity([&](const std::vector<Tensor>& in) { return op.fn(slice(in[0], 1, 1, 17, 3)); }, {x},
                       Tolerance{}, op.name + " sliced");
  }
}

TEST(CudaParityElementwise, BroadcastingArithmetic) {
  SKIP_WITHOUT_CUDA();
  const std::vector<std::pair<std::string, std::function<Tensor(const Tensor&, const Tensor&)>>> ops{
      {"add", [](const Tensor& a, const Tensor& b) { return add(a, b); }},
      {"sub", [](const Tensor& a, const Tensor& b) { return sub(a, b); }},
      {"mul", [](const Tensor& a, const Tensor& b) { return mul(a, b); }},
      {"div", [](const Tensor& a, const Tensor& b) { return div(a, b); }},
      {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }},
      {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); }},
      {"pow", [](const Tensor& a, const Tensor& b) { return pow(a, b); }},
  };
  // [batch*seq, dim] with a row bias, a column, a scalar, and an outer product shape
  const std::vector<std::pair<Shape, Shape>> shapes{
      {{1000003}, {1000003}}, {{256, 50, 64}, {64}}, {{7, 33}, {7, 1}}, {{33}, {}}, {{7, 1}, {1, 33}}};
  for (const auto& [name, fn] : ops) {
    for (const auto& [shape_a, shape_b] : shapes) {
      Tensor a = parity_input(shape_a, 11), b = parity_input(shape_b, 12);
      if (name == "pow") a = positive(a);
      if (name == "div") b = positive(b);
      expect_cuda_parity([&](const std::vector<Tensor>& in) { return fn(in[0], in[1]); }, {a, b}, Tolerance{}, name);
    }
  }
}

TEST(CudaParityElementwise, ExtremumTiesSplitTheGradient) {
  SKIP_WITHOUT_CUDA();
  const Tensor a = from_vector<float>({1, 2, 3, 4, 5, 6, 7}, {7});
  const Tensor b = from_vector<float>({1, 3, 2, 4, 6, 5, 7}, {7});
  Tensor ga = raw::clone(a), gb = raw::clone(b);
  ga.requires_grad_();
  gb.requires_grad_();
  expect_cuda_parity([](const std::vector<Tensor>& in) { return maximum(in[0], in[1]); }, {ga, gb}, Tolerance{},
                     "maximum with ties");
  expect_cuda_parity([](const std::vector<Tensor>& in) { return minimum(in[0], in[1]); }, {ga, gb}, Tolerance{},
                     "minimum with ties");
}

TEST(CudaParityElementwise, ComparisonsWhereAndMaskedFill) {
  SKIP_WITHOUT_CUDA();
  const Tensor a = raw::to_device(parity_input({33, 7}, 21).detach(), Device::cuda());
  const Tensor b = raw::to_device(parity_input({7}, 22).detach(), Device::cuda());
  const Tensor a_cpu = raw::to_device(a, Device::cpu()), b_cpu = raw::to_device(b, Device::cpu());
  const std::vector<std::pair<std::string, std::function<Tensor(const Tensor&, const Tensor&)>>> comparisons{
      {"eq", [](const Tensor& x, const Tensor& y) { return eq(x, y); }},
      {"ne", [](const Tensor& x, const Tensor& y) { return ne(x, y); }},
      {"lt", [](const Tensor& x, const Tensor& y) { return lt(x, y); }},
      {"le", [](const Tensor& x, const Tensor& y) { return le(x, y); }},
      {"gt", [](const Tensor& x, const Tensor& y) { return gt(x, y); }},
      {"ge", [](const Tensor& x, const Tensor& y) { return ge(x, y); }},
  };
  for (const auto& [name, fn] : comparisons) {
    expect_close(fn(a_cpu, b_cpu), fn(a, b), Tolerance{0, 0}, name);
    expect_close(fn(a_cpu, a_cpu), fn(a, a), Tolerance{0, 0}, name + " (self)");
  }
  expect_close(gt(a_cpu, 0.25), gt(a, 0.25), Tolerance{0, 0}, "gt scalar");
  expect_close(logical_not(gt(a_cpu, 0.0)), logical_not(gt(a, 0.0)), Tolerance{0, 0}, "logical_not");
  // integer comparisons with a scalar compare in double, as on the CPU
  const Tensor ids = from_vector<std::int64_t>({-3, 0, 5, 7, 9}, {5});
  expect_close(le(ids, 5.5), le(raw::to_device(ids, Device::cuda()), 5.5), Tolerance{0, 0}, "le i64 scalar");

  Tensor x = parity_input({33, 7}, 23), y = parity_input({7}, 24);
  const Tensor condition = gt(a_cpu, 0.0);
  expect_cuda_parity(
      [&](const std::vector<Tensor>& in) { return where(raw::to_device(condition, in[0].device()), in[0], in[1]); },
      {x, y}, Tolerance{}, "where");
  expect_cuda_parity(
      [&](const std::vector<Tensor>& in) {
        return masked_fill(in[0], raw::to_device(lt(b_cpu, 0.0), in[0].device()), -1e9);
      },
      {x}, Tolerance{}, "masked_fill broadcast mask");
}

TEST(CudaParityElementwise, StridedAndConvertingCopies) {
  SKIP_WITHOUT_CUDA();
  for (std::int64_t n : parity_sizes()) {
    const Tensor x = parity_input({n}, 31).detach();
    const Tensor d = raw::to_device(x, Device::cuda());
    expect_close(raw::to_dtype(x, DType::f64), raw::to_dtype(d, DType::f64), Tolerance{0, 0}, "f32 -> f64");
    expect_close(raw::to_dtype(x, DType::i32), raw::to_dtype(d, DType::i32), Tolerance{0, 0}, "f32 -> i32");
  }
  const Tensor x = parity_input({7, 33, 5}, 32).detach();
  const Tensor d = raw::to_device(x, Device::cuda());
  expect_close(raw::contiguous(raw::permute(x, {2, 0, 1})), raw::contiguous(raw::permute(d, {2, 0, 1})),
               Tolerance{0, 0}, "permuted contiguous");
  expect_close(raw::contiguous(raw::slice(x, 1, 3, 30, 4)), raw::contiguous(raw::slice(d, 1, 3, 30, 4)),
               Tolerance{0, 0}, "stepped slice");
  // copy_ into a strided destination from a broadcast source
  Tensor host_dst = zeros({33, 7}), device_dst = zeros({33, 7}, {DType::f32, Device::cuda()});
  const Tensor row = from_vector<float>({1, 2, 3, 4, 5, 6, 7}, {7});
  raw::copy_(raw::transpose(host_dst, 0, 1).as_strided({7, 33}, {1, 7}, 0),
             raw::expand(raw::unsqueeze(row, 1), {7, 33}));
  raw::copy_(raw::transpose(device_dst, 0, 1).as_strided({7, 33}, {1, 7}, 0),
             raw::expand(raw::unsqueeze(raw::to_device(row, Device::cuda()), 1), {7, 33}));
  expect_close(host_dst, device_dst, Tolerance{0, 0}, "copy_ into a transposed view from an expanded source");
}

TEST(CudaParityElementwise, InPlaceAddAndScale) {
  SKIP_WITHOUT_CUDA();
  Tensor host = parity_input({33, 7}, 41).detach(), bias = parity_input({7}, 42).detach();
  Tensor device = raw::to_device(host, Device::cuda());
  raw::add_(host, bias, -0.5);
  raw::add_(device, raw::to_device(bias, Device::cuda()), -0.5);
  raw::mul_(host, 3.0);
  raw::mul_(device, 3.0);
  expect_close(host, device, Tolerance{}, "add_ then mul_");
}
