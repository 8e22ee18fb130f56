// CPU-vs-CUDA parity of the reductions, forward and gradient: sum, mean, amax/amin, max/min along a dim
// (values, first indices, NaN), var, norm (p = 0, 1, 2, 3, 0.5, +-inf) and logsumexp, over single dims,
// several dims, all dims, keepdim, strided inputs (transposed, sliced, expanded) and odd sizes. The shapes
// reach every launch shape of core/cuda/reduce.cu: a warp per row, a block per row split over many blocks,
// columns with and without splits. Integer sums are exact. Skips without a GPU; the argument checks (which
// run before the device dispatch) are compared across devices when there is one.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/ops/copy.h"
#include "core/ops/reduce.h"
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

std::string dims_name(const std::vector<std::int64_t>& dims) {
  if (dims.empty()) return "all dims";
  std::string name = "dims {";
  for (std::size_t i = 0; i < dims.size(); ++i) name += (i ? ", " : "") + std::to_string(dims[i]);
  return name + "}";
}

/// A random f32 input of `shape` whose entries are small integers (-2 .. 2) stored as floats: many ties.
Tensor input_with_ties(const Shape& shape, std::uint64_t seed) {
  manual_seed(seed);
  Tensor t = raw::to_dtype(randint(-2, 3, shape, {DType::i64}), DType::f32);
  t.requires_grad_();
  return t;
}

/// A random f32 input with NaN at the given flat positions.
Tensor input_with_nans(const Shape& shape, std::uint64_t seed, const std::vector<std::int64_t>& nan_at) {
  manual_seed(seed);
  std::vector<float> values = randn(shape).to_vector<float>();
  for (std::int64_t i : nan_at) values[static_cast<std::size_t>(i)] = NAN;
  return from_vector(values, shape);
}

/// The message of the recgrad::Error that fn throws ("" when it does not throw).
template <typename Fn>
std::string error_of(Fn fn) {
  try {
    fn();
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

using Reduction = Tensor (*)(const Tensor&, const std::vector<std::int64_t>&, bool);

Tensor sum_of(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim) { return sum(x, dims, keepdim); }
Tensor mean_of(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim) { return mean(x, dims, keepdim); }
Tensor amax_of(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim) { return amax(x, dims, keepdim); }
Tensor amin_of(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim) { return amin(x, dims, keepdim); }
Tensor var_of(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim) { return var(x, dims, 1, keepdim); }
Tensor norm_of(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim) {
  return norm(x, 2.0, dims, keepdim);
}
Tensor logsumexp_of(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim) {
  return logsumexp(x, dims, keepdim);
}

/// Elements reduced into each output: the product of the reduced extents.
std::int64_t terms_of(const Shape& shape, const std::vector<std::int64_t>& dims) {
  std::int64_t terms = 1;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    bool reduced = dims.empty();
    for (std::int64_t dim : dims)
      reduced |= (dim < 0 ? dim + static_cast<std::int64_t>(shape.size()) : dim) == static_cast<std::int64_t>(d);
    if (reduced) terms *= shape[d];
  }
  return terms;
}

/// The tolerance of reduction `name` over `terms` elements. f32 sums accumulate in f32 on the GPU (a fixed
/// tree) and in double on the CPU: the GPU's error is a few ulp of the partial sums, ~1e-7 sqrt(terms)
/// absolute for terms of size ~1 (the inputs here are standard normal). A sum of random signs may lie near 0,
/// where rtol gives no room, so sums get atol 1e-6 sqrt(terms) and means 1e-6 / sqrt(terms). Everything else
/// (var ~1, norms and logsumexp well away from 0, exact extrema) keeps rtol 1e-5, with an atol small enough
/// that tiny gradients (a softmax over 1e6 elements) are still compared.
Tolerance tolerance_for(const std::string& name, std::int64_t terms) {
  const double root = std::sqrt(static_cast<double>(std::max<std::int64_t>(terms, 1)));
  if (name == "sum") return {1e-5, std::max(1e-6, 1e-6 * root)};
  if (name == "mean") return {1e-5, std::min(1e-6, 1e-6 / root)};
  return {1e-5, terms > 1000 ? 1e-9 : 1e-6};
}

struct NamedReduction {
  const char* name;
  Reduction fn;
};
const std::vector<NamedReduction>& all_reductions() {
  static const std::vector<NamedReduction> reductions{
      {"sum", sum_of}, {"mean", mean_of}, {"amax", amax_of},          {"amin", amin_of},
      {"var", var_of}, {"norm", norm_of}, {"logsumexp", logsumexp_of}};
  return reductions;
}

}  // namespace

// ---- without a GPU too: the argument checks run before the device dispatch ----

TEST(CudaParityReduce, ArgumentErrorsReadTheSameOnBothDevices) {
  const std::vector<std::function<Tensor(const Tensor&)>> bad_calls{
      [](const Tensor& x) { return sum(x, {2}); },
      [](const Tensor& x) {
        return sum(x, {1, -1});
      },
      [](const Tensor& x) {
        return amax(x, {0, 0});
      },
      [](const Tensor& x) { return amax(narrow(x, 1, 0, 0), {1}); },
      [](const Tensor& x) { return max(narrow(x, 1, 0, 0), 1); },
      [](const Tensor& x) { return var(x, {0}, -1); },
      [](const Tensor& x) { return norm(x, NAN, {0}); },
      [](const Tensor& x) { return logsumexp(x, {5}); },
      [](const Tensor& x) { return sum(raw::to_dtype(x, DType::b8)); },
      [](const Tensor& x) { return var(raw::to_dtype(x, DType::i64), {0}); },
      [](const Tensor& x) { return softmax(x, 3); },
  };
  const Tensor host = randn({3, 4});
  for (std::size_t i = 0; i < bad_calls.size(); ++i) {
    const std::string on_cpu = error_of([&] { bad_calls[i](host); });
    EXPECT_FALSE(on_cpu.empty()) << "call " << i << " should throw";
    if (!cuda::cuda_available()) continue;
    const Tensor device = raw::to_device(host, Device::cuda());
    EXPECT_EQ(error_of([&] { bad_calls[i](device); }), on_cpu) << "call " << i;
  }
}

// ---- on a GPU ----

TEST(CudaParityReduce, EveryReductionOverAllDimsAtOddSizes) {
  SKIP_WITHOUT_CUDA();
  for (std::int64_t n : parity_sizes()) {
    const Tensor x = parity_input({n}, 1);
    for (const NamedReduction& r : all_reductions()) {
      expect_cuda_parity([&](const std::vector<Tensor>& in) { return r.fn(in[0], {}, false); }, {x},
                         tolerance_for(r.name, n), std::string(r.name) + " of " + shape_str({n}));
    }
  }
}

TEST(CudaParityReduce, EveryReductionOverDimsOfA3dTensor) {
  SKIP_WITHOUT_CUDA();
  const Shape shape{5, 7, 33};
  const Tensor x = parity_input(shape, 2);
  const std::vector<std::vector<std::int64_t>> dim_sets{{0}, {1}, {2}, {-1}, {0, 2}, {0, 1}, {1, 2}, {}};
  for (const NamedReduction& r : all_reductions()) {
    for (const std::vector<std::int64_t>& dims : dim_sets) {
      for (bool keepdim : {false, true}) {
        expect_cuda_parity(
            [&](const std::vector<Tensor>& in) { return r.fn(in[0], dims, keepdim); }, {x},
            tolerance_for(r.name, terms_of(shape, dims)),
            std::string(r.name) + " of " + shape_str(shape) + " over " + dims_name(dims) + (keepdim ? " keepdim" : ""));
      }
    }
  }
}

TEST(CudaParityReduce, LaunchShapes) {
  SKIP_WITHOUT_CUDA();
  struct Case {
    Shape shape;
    std::vector<std::int64_t> dims;
  };
  const std::vector<Case> cases{
      {{256 * 50, 64}, {1}},  // the recommender shape: a warp per row of 64
      {{256 * 50, 64}, {0}},  // its column sums (a bias gradient): columns split over blocks
      {{3, 70001}, {1}},      // few long rows: each split over many blocks
      {{4099, 33}, {0}},      // 33 columns of 4099
      {{33, 2049}, {1}},      // just past a warp's row limit: a block per row
      {{100003, 7}, {1}},     // rows shorter than a warp: columns
      {{7, 33, 65}, {0, 2}},  // reduced dims on both sides of a kept one
      {{1, 1, 1}, {1}},
  };
  for (const Case& c : cases) {
    const Tensor x = parity_input(c.shape, 3);
    for (const NamedReduction& r : all_reductions()) {
      expect_cuda_parity([&](const std::vector<Tensor>& in) { return r.fn(in[0], c.dims, false); }, {x},
                         tolerance_for(r.name, terms_of(c.shape, c.dims)),
                         std::string(r.name) + " of " + shape_str(c.shape) + " over " + dims_name(c.dims));
    }
  }
}

TEST(CudaParityReduce, StridedInputs) {
  SKIP_WITHOUT_CUDA();
  const Tensor x = parity_input({33, 70}, 4);
  const Tensor column = parity_input({33, 1}, 5);
  using View = std::function<Tensor(const Tensor&)>;
  const std::vector<std::pair<std::string, View>> views{
      {"transposed", [](const Tensor& t) { return transpose(t, 0, 1); }},
      {"sliced with step 3", [](const Tensor& t) { return slice(t, 1, 1, 70, 3); }},
      {"a column", [](const Tensor& t) { return select(t, 1, 5); }},
      {"permuted 3d",
       [](const Tensor& t) {
         return permute(reshape(t, {3, 11, 70}), {2, 0, 1});
       }},
  };
  for (const NamedReduction& r : all_reductions()) {
    for (const auto& [name, view] : views) {
      for (const std::vector<std::int64_t>& dims : std::vector<std::vector<std::int64_t>>{{0}, {-1}, {}}) {
        const Tensor viewed = view(x.detach());
        expect_cuda_parity([&](const std::vector<Tensor>& in) { return r.fn(view(in[0]), dims, false); }, {x},
                           tolerance_for(r.name, terms_of(viewed.shape(), dims)),
                           std::string(r.name) + " of " + name + " over " + dims_name(dims));
      }
    }
    // An expanded view (stride 0) reduced along and across the broadcast dim.
    for (const std::vector<std::int64_t>& dims : std::vector<std::vector<std::int64_t>>{{0}, {1}, {}}) {
      expect_cuda_parity(
          [&](const std::vector<Tensor>& in) {
            return r.fn(expand(in[0], {33, 40}), dims, true);
          },
          {column}, tolerance_for(r.name, terms_of({33, 40}, dims)),
          std::string(r.name) + " of an expanded column over " + dims_name(dims));
    }
  }
}

TEST(CudaParityReduce, IntegerSumsAreExact) {
  SKIP_WITHOUT_CUDA();
  for (DType dtype : {DType::i64, DType::i32}) {
    manual_seed(6);
    const Tensor x = raw::to_dtype(randint(-1000, 1000, {1000003}, {DType::i64}), dtype);
    const Tensor m = raw::to_dtype(randint(-1000, 1000, {37, 129}, {DType::i64}), dtype);
    const Tolerance exact{0, 0};
    expect_cuda_parity([](const std::vector<Tensor>& in) { return sum(in[0]); }, {x}, exact, "integer sum");
    for (std::int64_t dim : {0, 1}) {
      expect_cuda_parity([dim](const std::vector<Tensor>& in) { return sum(in[0], {dim}); }, {m}, exact,
                         "integer sum over a dim");
      expect_cuda_parity([dim](const std::vector<Tensor>& in) { return amax(in[0], {dim}); }, {m}, exact,
                         "integer amax");
      expect_cuda_parity([dim](const std::vector<Tensor>& in) { return argmin(in[0], dim); }, {m}, exact,
                         "integer argmin");
    }
  }
}

TEST(CudaParityReduce, MaxMinAlongADimTakeTheFirstExtreme) {
  SKIP_WITHOUT_CUDA();
  const Tolerance exact{0, 0};
  for (const Shape& shape : std::vector<Shape>{{5, 7, 33}, {3, 70001}, {4099, 3}}) {
    const Tensor ties = input_with_ties(shape, 7);  // many equal maxima: the first index must win
    for (std::int64_t dim = 0; dim < static_cast<std::int64_t>(shape.size()); ++dim) {
      for (bool keepdim : {false, true}) {
        const std::string what = shape_str(shape) + " dim " + std::to_string(dim) + (keepdim ? " keepdim" : "");
        expect_cuda_parity([&](const std::vector<Tensor>& in) { return max(in[0], dim, keepdim); }, {ties}, exact,
                           "max " + what);
        expect_cuda_parity([&](const std::vector<Tensor>& in) { return min(in[0], dim, keepdim); }, {ties}, exact,
                           "min " + what);
        expect_cuda_parity([&](const std::vector<Tensor>& in) { return argmax(in[0], dim, keepdim); }, {ties}, exact,
                           "argmax " + what);
        expect_cuda_parity([&](const std::vector<Tensor>& in) { return argmin(in[0], dim, keepdim); }, {ties}, exact,
                           "argmin " + what);
      }
    }
  }
  // Strided: the transposed matrix, and a scalar (0-d) input.
  const Tensor m = input_with_ties({33, 65}, 8);
  expect_cuda_parity([](const std::vector<Tensor>& in) { return max(transpose(in[0], 0, 1), 1); }, {m}, exact,
                     "max of a transposed matrix");
  expect_cuda_parity([](const std::vector<Tensor>& in) { return argmin(transpose(in[0], 0, 1), 0); }, {m}, exact,
                     "argmin of a transposed matrix");
  expect_cuda_parity([](const std::vector<Tensor>& in) { return max(sum(in[0]), 0); }, {m}, Tolerance{1e-5, 1e-5},
                     "max of a scalar");
}

TEST(CudaParityReduce, NanWins) {
  SKIP_WITHOUT_CUDA();
  // NaN in row 0 at columns 3 and 9 (the first one is the index), none in row 1.
  const Tensor x = input_with_nans({2, 40}, 9, {3, 9});
  const Tolerance exact{0, 0};
  for (std::int64_t dim : {0, 1}) {
    expect_cuda_parity([dim](const std::vector<Tensor>& in) { return argmax(in[0], dim); }, {x}, exact, "argmax NaN");
    expect_cuda_parity([dim](const std::vector<Tensor>& in) { return argmin(in[0], dim); }, {x}, exact, "argmin NaN");
    expect_cuda_parity([dim](const std::vector<Tensor>& in) { return amax(in[0], {dim}); }, {x}, exact, "amax NaN");
    expect_cuda_parity([dim](const std::vector<Tensor>& in) { return amin(in[0], {dim}); }, {x}, exact, "amin NaN");
    expect_cuda_parity([dim](const std::vector<Tensor>& in) { return norm(in[0], INFINITY, {dim}); }, {x}, exact,
                       "inf-norm NaN");
    expect_cuda_parity([dim](const std::vector<Tensor>& in) { return logsumexp(in[0], {dim}); }, {x}, {},
                       "logsumexp NaN");
  }
}

TEST(CudaParityReduce, AmaxAminShareTheGradientAmongTies) {
  SKIP_WITHOUT_CUDA();
  const Tensor x = input_with_ties({9, 5, 33}, 10);
  for (const std::vector<std::int64_t>& dims : std::vector<std::vector<std::int64_t>>{{0}, {2}, {0, 2}, {}}) {
    expect_cuda_parity([&](const std::vector<Tensor>& in) { return amax(in[0], dims, true); }, {x}, {},
                       "amax with ties over " + dims_name(dims));
    expect_cuda_parity([&](const std::vector<Tensor>& in) { return amin(in[0], dims); }, {x}, {},
                       "amin with ties over " + dims_name(dims));
    expect_cuda_parity([&](const std::vector<Tensor>& in) { return norm(in[0], -INFINITY, dims); }, {x}, {},
                       "-inf-norm with ties over " + dims_name(dims));
  }
}

TEST(CudaParityReduce, NormForEveryP) {
  SKIP_WITHOUT_CUDA();
  const Tensor x = parity_input({17, 65}, 11);
  Tensor with_zeros = input_with_ties({17, 65}, 12);  // about a fifth of the entries are 0
  for (double p : std::vector<double>{0.0, 1.0, 2.0, 3.0, 0.5, INFINITY, -INFINITY}) {
    for (const std::vector<std::int64_t>& dims : std::vector<std::vector<std::int64_t>>{{0}, {1}, {}}) {
      const std::string what = "norm p = " + std::to_string(p) + " over " + dims_name(dims);
      expect_cuda_parity([&](const std::vector<Tensor>& in) { return norm(in[0], p, dims); }, {x},
                         Tolerance{1e-5, 1e-5}, what);
      expect_cuda_parity([&](const std::vector<Tensor>& in) { return norm(in[0], p, dims, true); }, {with_zeros},
                         Tolerance{1e-5, 1e-5}, what + " with zeros");
    }
  }
  // A zero norm has a zero gradient.
  expect_cuda_parity([](const std::vector<Tensor>& in) { return norm(mul(in[0], 0.0), 2.0, {1}); }, {x}, {},
                     "norm of zeros");
}

TEST(CudaParityReduce, VarWithCorrections) {
  SKIP_WITHOUT_CUDA();
  const Tensor x = parity_input({33, 129}, 13);
  for (std::int64_t correction : {0, 1, 2}) {
    for (const std::vector<std::int64_t>& dims : std::vector<std::vector<std::int64_t>>{{0}, {1}, {}}) {
      expect_cuda_parity([&](const std::vector<Tensor>& in) { return var(in[0], dims, correction, true); }, {x}, {},
                         "var correction " + std::to_string(correction) + " over " + dims_name(dims));
    }
  }
  // One element with correction 1: 0 / 0 is NaN on both devices.
  expect_cuda_parity([](const std::vector<Tensor>& in) { return var(in[0], {0}); }, {parity_input({1, 3}, 14)}, {},
                     "var of one element");
}

TEST(CudaParityReduce, LogsumexpWithInfinities) {
  SKIP_WITHOUT_CUDA();
  // Row 0: some -inf (masked) entries; row 1: all -inf (gives -inf, gradient NaN on both devices);
  // row 2: a +inf (gives +inf); row 3: plain.
  manual_seed(15);
  std::vector<float> values = randn({4, 37}).to_vector<float>();
  for (int j = 0; j < 37; ++j) {
    if (j % 3 == 0) values[j] = -INFINITY;
    values[37 + j] = -INFINITY;
  }
  values[2 * 37 + 5] = INFINITY;
  Tensor x = from_vector(values, {4, 37});
  x.requires_grad_();
  expect_cuda_parity([](const std::vector<Tensor>& in) { return logsumexp(in[0], {1}); }, {x}, {},
                     "logsumexp with infinities");
  expect_cuda_parity([](const std::vector<Tensor>& in) { return logsumexp(in[0], {0}, true); }, {x}, {},
                     "logsumexp over dim 0 with infinities");
}

TEST(CudaParityReduce, SumToAndF64) {
  SKIP_WITHOUT_CUDA();
  // The broadcast gradient path: sum_to reduces leading and size-1 dims.
  const Tensor x = parity_input({6, 5, 33}, 16);
  expect_cuda_parity([](const std::vector<Tensor>& in) { return sum_to(in[0], {5, 1}); }, {x}, {}, "sum_to [5, 1]");
  expect_cuda_parity([](const std::vector<Tensor>& in) { return sum_to(in[0], {33}); }, {x}, {}, "sum_to [33]");
  const Tensor d = parity_input({7, 1000}, 17, DType::f64);
  for (const NamedReduction& r : all_reductions()) {
    expect_cuda_parity([&](const std::vector<Tensor>& in) { return r.fn(in[0], {1}, false); }, {d},
                       Tolerance{1e-12, 1e-12}, std::string(r.name) + " in f64");
  }
}

TEST(CudaParityReduce, EmptyReductions) {
  SKIP_WITHOUT_CUDA();
  // Reducing a dim of extent 0 gives the identity (sum 0, logsumexp -inf, var NaN); no outputs gives an
  // empty result.
  const Tensor x = parity_input({3, 0}, 18);
  expect_cuda_parity([](const std::vector<Tensor>& in) { return sum(in[0], {1}); }, {x}, {}, "sum over extent 0");
  expect_cuda_parity([](const std::vector<Tensor>& in) { return logsumexp(in[0], {1}); }, {x}, {},
                     "logsumexp over extent 0");
  expect_cuda_parity([](const std::vector<Tensor>& in) { return var(in[0], {1}); }, {x}, {}, "var over extent 0");
  expect_cuda_parity([](const std::vector<Tensor>& in) { return sum(in[0], {0}); }, {x}, {}, "sum to no outputs");
  expect_cuda_parity([](const std::vector<Tensor>& in) { return amax(in[0], {0}); }, {x}, {}, "amax to no outputs");
}

TEST(CudaParityReduce, DeterministicRunToRun) {
  SKIP_WITHOUT_CUDA();
  const Tensor x = raw::to_device(parity_input({1000003}, 19).detach(), Device::cuda());
  const Tensor m = raw::to_device(parity_input({4099, 33}, 20).detach(), Device::cuda());
  const auto run = [&] {
    return std::vector<Tensor>{sum(x), var(x, {0}), norm(x, 2.0, {0}), logsumexp(x, {0}), sum(m, {0})};
  };
  const std::vector<Tensor> first = run(), second = run();
  for (std::size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(raw::to_device(first[i], Device::cpu()).to_vector<float>(),
              raw::to_device(second[i], Device::cpu()).to_vector<float>())
        << "result " << i;
  }
}

TEST(CudaParityReduce, BackwardHelpersRefuseTensorsOnAnotherDevice) {
  SKIP_WITHOUT_CUDA();
  const Tensor x = raw::to_device(randn({3, 5}), Device::cuda());
  const Tensor kept_on_cpu = randn({3, 1});
  const Tensor kept = raw::to_device(kept_on_cpu, Device::cuda());
  recgrad::testing::expect_error([&] { raw::logsumexp_backward(x, kept, kept_on_cpu); },
                                 {"logsumexp", "expected every tensor on cuda:0", "cpu"});
  recgrad::testing::expect_error([&] { raw::var_backward(x, kept_on_cpu, {1}, 1); }, {"var", "cpu"});
  recgrad::testing::expect_error([&] { raw::share_among_ties(x, kept_on_cpu, kept, {1}); },
                                 {"share_among_ties", "cpu"});
}
