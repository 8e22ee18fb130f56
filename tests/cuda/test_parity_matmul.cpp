// CPU-vs-CUDA parity of the matrix products (mm, matmul, linear; forward and backward) through cuBLAS,
// with TF32 off (full f32) and on, plus bf16 GEMMs against an f32 CPU reference and the bf16<->f32
// conversion kernels. Without a GPU every device test skips with the reason; the error paths that do
// not need one always run.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/cuda/copy.h"
#include "core/ops/copy.h"
#include "core/ops/matmul.h"
#include "core/ops/view.h"
#include "parity.h"
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

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

// Tolerances. The inputs are unit normals, so an entry of a product over k terms is ~sqrt(k) in size,
// and so are the partial sums whose rounding makes the two devices differ (OpenBLAS and cuBLAS sum in
// different orders). The absolute part is therefore rtol times that scale: an entry that is small by
// cancellation is held to the same absolute accuracy as a typical one, not to rtol of itself.

// Full f32 (TF32 off): the 1e-5 relative. Both BLAS libraries accumulate in blocks, so the
// rounding error stays near u * sqrt(k * block) with u = 6e-8 (~1e-4 at k = 12800, a tenth of the floor).
Tolerance f32_tolerance(std::int64_t k) { return {1e-5, 1e-5 * std::sqrt(static_cast<double>(k))}; }

// Sums of a million terms: even a sequential f32 sum, whose error is a random walk over partial sums
// of size ~sqrt(i) (standard deviation u * k / sqrt(2), 0.04 at k = 1e6), must pass: atol = 2.5e-7 * k,
// about five of those standard deviations (2.5e-4 of the result's scale sqrt(k) at k = 1e6).
Tolerance long_sum_tolerance(std::int64_t k) { return {1e-5, 2.5e-7 * static_cast<double>(k)}; }

// TF32 rounds each input to 10 mantissa bits (relative error up to 2^-11, so ~1e-3 per product at worst):
// the 1e-3 relative, and an absolute floor of 2e-3 * sqrt(k), about five standard deviations of
// the summed rounding noise of k products (each ~4e-4 |a b| standard deviation).
Tolerance tf32_tolerance(std::int64_t k) { return {1e-3, 2e-3 * std::sqrt(static_cast<double>(k))}; }

// bf16 operands are exact in f32 and so are their products (8 x 8 significant bits), so with the same
// rounded inputs an f32 CPU reference differs from the GPU's f32 accumulation only by summation order
// (f32_tolerance). A bf16 output adds one rounding to nearest: at most half a bf16 ulp, 2^-8 of the value.
Tolerance bf16_output_tolerance(std::int64_t k) {
  return {std::ldexp(1.0, -8), 1e-5 * std::sqrt(static_cast<double>(k))};
}

// A CPU tensor of unit normals without a gradient (forward-only checks).
Tensor input(const Shape& shape, std::uint64_t seed, DType dtype = DType::f32) {
  return parity_input(shape, seed, dtype).detach();
}

// Forward alone at `forward` (inputs without gradients), then forward and backward at `backward`,
// the tolerance of the largest reduction among the product and its two gradient products.
void check_product(const Fn& fn, const std::vector<Shape>& shapes, Tolerance forward, Tolerance backward,
                   const std::string& name) {
  std::vector<Tensor> plain, with_grad;
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    plain.push_back(input(shapes[i], 1 + i));
    with_grad.push_back(parity_input(shapes[i], 1 + i));
  }
  expect_cuda_parity(fn, plain, forward, name + " forward");
  expect_cuda_parity(fn, with_grad, backward, name);
}

// check_product in f32 (or TF32) with reductions of length forward_k (the product) and largest_k
// (the longest among the product and its gradients).
void check_product(const Fn& fn, const std::vector<Shape>& shapes, std::int64_t forward_k, std::int64_t largest_k,
                   const std::string& name, bool tf32 = false) {
  const auto tolerance = tf32 ? tf32_tolerance : f32_tolerance;
  check_product(fn, shapes, tolerance(forward_k), tolerance(largest_k), name);
}

// Turns TF32 on for a scope and back off at its end (also when an assertion returns early).
class Tf32Scope {
 public:
  Tf32Scope() { set_allow_tf32(true); }
  ~Tf32Scope() { set_allow_tf32(false); }
  Tf32Scope(const Tf32Scope&) = delete;
  Tf32Scope& operator=(const Tf32Scope&) = delete;
};

Tensor on_cuda(const Tensor& t) { return raw::to_device(t, Device::cuda()); }
Tensor on_cpu(const Tensor& t) { return raw::to_device(t, Device::cpu()); }
// A CPU f32 copy of any tensor (bf16 widened exactly).
Tensor cpu_f32(const Tensor& t) { return raw::to_dtype(on_cpu(t), DType::f32); }

// The bf16 bits of every element of a bf16 tensor (any device).
std::vector<std::uint16_t> bf16_bits_of(const Tensor& t) {
  const Tensor host = raw::contiguous(on_cpu(t));
  const auto* values = static_cast<const bfloat16*>(host.raw_data());
  std::vector<std::uint16_t> bits(static_cast<std::size_t>(host.numel()));
  for (std::size_t i = 0; i < bits.size(); ++i) bits[i] = values[i].bits;
  return bits;
}

}  // namespace

// ---- full f32 (TF32 off, the default) ----

TEST(MatmulParity, Tf32IsOffByDefault) { EXPECT_FALSE(allow_tf32()); }

TEST(MatmulParity, MmRecommenderShapes) {
  SKIP_WITHOUT_CUDA();
  // [12800, 64] x [64, 64]: batch 256 x seq 50 rows through a 64-wide layer. dB sums over 12800 rows.
  check_product([](const std::vector<Tensor>& v) { return matmul(v[0], v[1]); }, {{12800, 64}, {64, 64}}, 64, 12800,
                "mm [12800,64]x[64,64]");
  // [256, 64] x [64, 4096]: scores against a 4k vocabulary. dA sums over 4096 columns.
  check_product([](const std::vector<Tensor>& v) { return matmul(v[0], v[1]); }, {{256, 64}, {64, 4096}}, 64, 4096,
                "mm [256,64]x[64,4096]");
}

TEST(MatmulParity, MmOddSizes) {
  SKIP_WITHOUT_CUDA();
  for (std::int64_t s : {1, 7, 33}) {
    const std::string tag = " s=" + std::to_string(s);
    check_product([](const std::vector<Tensor>& v) { return matmul(v[0], v[1]); }, {{s, s + 1}, {s + 1, s + 2}}, s + 1,
                  s + 2, "mm [s,s+1]x[s+1,s+2]" + tag);
    // Vector forms: dot product, vector @ matrix, matrix @ vector.
    check_product([](const std::vector<Tensor>& v) { return matmul(v[0], v[1]); }, {{s}, {s}}, s, s, "dot" + tag);
    check_product([](const std::vector<Tensor>& v) { return matmul(v[0], v[1]); }, {{s}, {s, 3}}, s, s,
                  "vec@mat" + tag);
    check_product([](const std::vector<Tensor>& v) { return matmul(v[0], v[1]); }, {{5, s}, {s}}, s, s,
                  "mat@vec" + tag);
  }
}

TEST(MatmulParity, LargeOddSizes) {
  SKIP_WITHOUT_CUDA();
  const std::int64_t big = parity_sizes().back();  // 1000003
  // One dot product over a million terms, and a tall product whose gradient sums over a million rows.
  check_product([](const std::vector<Tensor>& v) { return matmul(v[0], v[1]); }, {{big}, {big}},
                long_sum_tolerance(big), long_sum_tolerance(big), "dot 1000003");
  check_product([](const std::vector<Tensor>& v) { return matmul(v[0], v[1]); }, {{big, 2}, {2, 3}}, f32_tolerance(2),
                long_sum_tolerance(big), "mm [1000003,2]x[2,3]");
}

TEST(MatmulParity, EmptyReductionAndEmptyOutputs) {
  SKIP_WITHOUT_CUDA();
  // k == 0: the product is all zeros (and its gradients are empty).
  check_product([](const std::vector<Tensor>& v) { return matmul(v[0], v[1]); }, {{3, 0}, {0, 4}}, 1, 1, "k=0");
  check_product([](const std::vector<Tensor>& v) { return matmul(v[0], v[1]); }, {{2, 3, 0}, {2, 0, 4}}, 1, 1,
                "batched k=0");
  check_product([](const std::vector<Tensor>& v) { return matmul(v[0], v[1]); }, {{0, 5}, {5, 4}}, 5, 5, "n=0");
  check_product([](const std::vector<Tensor>& v) { return matmul(v[0], v[1]); }, {{3, 5}, {5, 0}}, 5, 5, "m=0");
  // gemm_into with k == 0 scales the output by beta (and beta == 0 overwrites garbage, NaN included).
  const Tensor a = on_cuda(Tensor::empty({2, 0})), b = on_cuda(Tensor::empty({0, 3}));
  const Tensor c = on_cuda(from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}));
  raw::gemm_into(c, a, b, 1.0, 2.0);
  EXPECT_EQ(on_cpu(c).to_vector<float>(), (std::vector<float>{2, 4, 6, 8, 10, 12}));
  const Tensor nan_c = on_cuda(full({2, 3}, std::numeric_limits<double>::quiet_NaN()));
  raw::gemm_into(nan_c, a, b, 1.0, 0.0);
  EXPECT_EQ(on_cpu(nan_c).to_vector<float>(), std::vector<float>(6, 0.0f));
}

TEST(MatmulParity, TransposedSlicedAndExpandedOperands) {
  SKIP_WITHOUT_CUDA();
  // Transposed views go to cuBLAS as operation flags, without copies.
  check_product([](const std::vector<Tensor>& v) { return matmul(t(v[0]), v[1]); }, {{33, 7}, {33, 5}}, 33, 33,
                "a^T b");
  check_product([](const std::vector<Tensor>& v) { return matmul(v[0], t(v[1])); }, {{7, 33}, {5, 33}}, 33, 33,
                "a b^T");
  check_product([](const std::vector<Tensor>& v) { return matmul(t(v[0]), t(v[1])); }, {{33, 7}, {5, 33}}, 33, 33,
                "a^T b^T");
  // A slice keeping every other column has column stride 2: neither layout fits, so it is made dense.
  check_product([](const std::vector<Tensor>& v) { return matmul(slice(v[0], 1, 0, 66, 2), v[1]); }, {{7, 66}, {33, 5}},
                33, 33, "column-strided slice");
  // A row slice keeps unit column stride with a larger row stride (a leading dimension > cols).
  check_product([](const std::vector<Tensor>& v) { return matmul(narrow(v[0], 1, 3, 33), v[1]); }, {{7, 40}, {33, 5}},
                33, 33, "narrowed columns (ld > cols)");
  // An expanded row (row stride 0) cannot be read by cuBLAS as is either.
  check_product(
      [](const std::vector<Tensor>& v) {
        return matmul(expand(v[0], {9, 33}), v[1]);
      },
      {{1, 33}, {33, 5}}, 33, 33, "expanded rows");
}

TEST(MatmulParity, BatchedAndBroadcast) {
  SKIP_WITHOUT_CUDA();
  const auto product = [](const std::vector<Tensor>& v) { return matmul(v[0], v[1]); };
  // [..., n, k] @ [k, m]: the batch folds into the rows (one GEMM).
  check_product(product, {{3, 5, 7, 33}, {33, 6}}, 33, 105, "batch folded into rows");
  // Same batch on both sides: one strided-batched call.
  check_product(product, {{4, 7, 33}, {4, 33, 6}}, 33, 33, "batched");
  // A 2-D left operand broadcast over b's batch (stride 0 in the batched call).
  check_product(product, {{7, 33}, {4, 33, 6}}, 33, 33, "broadcast left");
  // Batch dims that broadcast both ways ([2,1] with [1,3]): loops over strided-batched calls.
  check_product(product, {{2, 1, 7, 33}, {1, 3, 33, 6}}, 33, 33, "broadcast both");
  // Permuted batch dims, not one stride: loops over the outer dim.
  check_product([](const std::vector<Tensor>& v) { return matmul(transpose(v[0], 0, 1), v[1]); },
                {{3, 2, 7, 33}, {2, 3, 33, 6}}, 33, 33, "permuted batch");
  // Transposed matrices inside a batch.
  check_product([](const std::vector<Tensor>& v) { return matmul(transpose(v[0], -2, -1), v[1]); },
                {{4, 33, 7}, {4, 33, 6}}, 33, 33, "batched a^T");
  // A vector against a batch.
  check_product(product, {{33}, {4, 33, 6}}, 33, 33, "vector @ batch");
  check_product(product, {{4, 7, 33}, {33}}, 33, 33, "batch @ vector");
}

TEST(MatmulParity, Linear) {
  SKIP_WITHOUT_CUDA();
  const auto with_bias = [](const std::vector<Tensor>& v) { return linear(v[0], v[1], v[2]); };
  const auto no_bias = [](const std::vector<Tensor>& v) { return linear(v[0], v[1], Tensor()); };
  check_product(with_bias, {{12800, 64}, {64, 64}, {64}}, 64, 12800, "linear [12800,64] -> 64");
  check_product(with_bias, {{256, 64}, {4096, 64}, {4096}}, 64, 4096, "linear [256,64] -> 4096");
  check_product(no_bias, {{256, 64}, {4096, 64}}, 64, 4096, "linear without bias");
  check_product(with_bias, {{4, 7, 33}, {5, 33}, {5}}, 33, 33, "linear 3-D input");
  for (std::int64_t s : {1, 7, 33}) {
    check_product(with_bias, {{s, s}, {s + 2, s}, {s + 2}}, s, s + 2, "linear s=" + std::to_string(s));
  }
  // A transposed input and an expanded (stride-0) bias.
  check_product([](const std::vector<Tensor>& v) { return linear(t(v[0]), v[1], expand(v[2], {5})); },
                {{33, 9}, {5, 33}, {1}}, 33, 33, "linear x^T, expanded bias");
}

TEST(MatmulParity, F64) {
  SKIP_WITHOUT_CUDA();
  const std::vector<Tensor> inputs{parity_input({33, 65}, 3, DType::f64), parity_input({65, 7}, 4, DType::f64)};
  expect_cuda_parity([](const std::vector<Tensor>& v) { return matmul(v[0], v[1]); }, inputs, Tolerance{1e-12, 1e-12},
                     "f64 mm");
}

TEST(MatmulParity, RepeatedRunsAreBitIdentical) {
  SKIP_WITHOUT_CUDA();
  const Tensor a = on_cuda(input({12800, 64}, 1)), b = on_cuda(input({64, 64}, 2));
  const std::vector<float> first = on_cpu(raw::mm(a, b)).to_vector<float>();
  EXPECT_EQ(on_cpu(raw::mm(a, b)).to_vector<float>(), first);
  const std::vector<float> grad_like = on_cpu(raw::mm(raw::transpose(a, 0, 1), a)).to_vector<float>();
  EXPECT_EQ(on_cpu(raw::mm(raw::transpose(a, 0, 1), a)).to_vector<float>(), grad_like);
}

// ---- TF32 ----

TEST(MatmulParity, Tf32RecommenderShapes) {
  SKIP_WITHOUT_CUDA();
  const Tf32Scope tf32;
  const auto product = [](const std::vector<Tensor>& v) { return matmul(v[0], v[1]); };
  check_product(product, {{12800, 64}, {64, 64}}, 64, 12800, "tf32 mm [12800,64]x[64,64]", true);
  check_product(product, {{256, 64}, {64, 4096}}, 64, 4096, "tf32 mm [256,64]x[64,4096]", true);
  check_product([](const std::vector<Tensor>& v) { return linear(v[0], v[1], v[2]); }, {{12800, 64}, {64, 64}, {64}},
                64, 12800, "tf32 linear", true);
  check_product(product, {{4, 7, 33}, {4, 33, 6}}, 33, 33, "tf32 batched", true);
  check_product([](const std::vector<Tensor>& v) { return matmul(t(v[0]), v[1]); }, {{33, 7}, {33, 5}}, 33, 33,
                "tf32 a^T b", true);
}

TEST(MatmulParity, Tf32DoesNotTouchF64) {
  SKIP_WITHOUT_CUDA();
  const Tf32Scope tf32;
  const std::vector<Tensor> inputs{parity_input({64, 64}, 3, DType::f64), parity_input({64, 64}, 4, DType::f64)};
  expect_cuda_parity([](const std::vector<Tensor>& v) { return matmul(v[0], v[1]); }, inputs, Tolerance{1e-12, 1e-12},
                     "f64 mm with TF32 on");
}

// ---- bf16 ----

TEST(MatmulParity, Bf16GemmAgainstF32Reference) {
  SKIP_WITHOUT_CUDA();
  struct Case {
    Shape a, b;
    bool transpose_a;
  };
  for (const Case& c : {Case{{12800, 64}, {64, 64}, false}, Case{{256, 64}, {64, 4096}, false},
                        Case{{7, 33}, {33, 1}, false}, Case{{33, 7}, {33, 5}, true}, Case{{1, 1}, {1, 1}, false}}) {
    const std::string name = "bf16 " + shape_str(c.a) + " x " + shape_str(c.b) + (c.transpose_a ? " (a^T)" : "");
    const Tensor a16 = raw::to_dtype(input(c.a, 11), DType::bf16), b16 = raw::to_dtype(input(c.b, 12), DType::bf16);
    const Tensor a_view = c.transpose_a ? raw::transpose(a16, 0, 1) : a16;
    const std::int64_t k = a_view.size(1);
    // The reference: the same rounded operands, widened exactly to f32, multiplied on the CPU.
    const Tensor reference = raw::mm(cpu_f32(a_view), cpu_f32(b16));
    const Tensor a_dev = on_cuda(a16), b_dev = on_cuda(b16);
    const Tensor a_dev_view = c.transpose_a ? raw::transpose(a_dev, 0, 1) : a_dev;
    // bf16 output.
    const Tensor out16 = raw::mm(a_dev_view, b_dev);
    ASSERT_EQ(out16.dtype(), DType::bf16);
    expect_close(reference, cpu_f32(out16), bf16_output_tolerance(k), name + " -> bf16");
    // f32 output from bf16 operands: no output rounding.
    const Tensor out32 = on_cuda(zeros(reference.shape()));
    raw::gemm_into(out32, a_dev_view, b_dev);
    expect_close(reference, on_cpu(out32), f32_tolerance(k), name + " -> f32");
  }
}

TEST(MatmulParity, Bf16BatchedAndLinear) {
  SKIP_WITHOUT_CUDA();
  const Tensor a16 = raw::to_dtype(input({3, 33, 64}, 21), DType::bf16);
  const Tensor b16 = raw::to_dtype(input({3, 64, 17}, 22), DType::bf16);
  expect_close(raw::matmul(cpu_f32(a16), cpu_f32(b16)), cpu_f32(raw::matmul(on_cuda(a16), on_cuda(b16))),
               bf16_output_tolerance(64), "bf16 batched matmul");
  const Tensor x16 = raw::to_dtype(input({50, 64}, 23), DType::bf16);
  const Tensor w16 = raw::to_dtype(input({96, 64}, 24), DType::bf16);
  const Tensor bias16 = raw::to_dtype(input({96}, 25), DType::bf16);
  expect_close(raw::linear(cpu_f32(x16), cpu_f32(w16), cpu_f32(bias16)),
               cpu_f32(raw::linear(on_cuda(x16), on_cuda(w16), on_cuda(bias16))), bf16_output_tolerance(64),
               "bf16 linear");
}

TEST(MatmulParity, Bf16ConversionKernelsMatchTheHost) {
  SKIP_WITHOUT_CUDA();
  // Special values first (ties, overflow, NaN with a low payload, subnormals), then unit normals.
  const std::vector<std::uint32_t> special{0x3f808000u, 0x3f818000u, 0x3f808001u, 0xbf808000u, 0x7f7f8000u,
                                           0x7f7f7fffu, 0x7f800000u, 0xff800000u, 0x7fc00000u, 0x7f800001u,
                                           0xff800001u, 0x00000001u, 0x00018000u, 0x80000000u, 0x3fff8000u};
  std::vector<std::int64_t> sizes = parity_sizes();
  sizes.push_back(static_cast<std::int64_t>(special.size()));
  for (std::int64_t n : sizes) {
    const std::string tag = " n=" + std::to_string(n);
    std::vector<float> values = input({n}, 31).to_vector<float>();
    for (std::size_t i = 0; i < special.size() && i < values.size(); ++i) values[i] = std::bit_cast<float>(special[i]);
    const Tensor host = from_vector<float>(values, {n});
    const Tensor expected16 = raw::to_dtype(host, DType::bf16);  // the host's rounding
    // f32 -> bf16 on the device, from an aligned start and from an odd offset (the unvectorised path).
    for (std::int64_t start : {std::int64_t{0}, std::int64_t{1}}) {
      if (start >= n) continue;
      const Tensor src = raw::narrow(on_cuda(host), 0, start, n - start);
      const Tensor dst = Tensor::empty(src.shape(), DType::bf16, Device::cuda());
      cuda::f32_to_bf16(dst, src);
      const std::vector<std::uint16_t> got = bf16_bits_of(dst);
      const std::vector<std::uint16_t> want = bf16_bits_of(raw::narrow(expected16, 0, start, n - start));
      std::int64_t mismatches = 0;
      for (std::size_t i = 0; i < got.size(); ++i) {
        const bool both_nan = std::isnan(static_cast<float>(bfloat16::from_bits(got[i]))) &&
                              std::isnan(static_cast<float>(bfloat16::from_bits(want[i])));
        if (got[i] != want[i] && !both_nan) ++mismatches;
      }
      EXPECT_EQ(mismatches, 0) << "f32 -> bf16" << tag << " start " << start;
      // bf16 -> f32 is exact: the widened values equal the host's widening bit for bit.
      const Tensor widened = Tensor::empty(src.shape(), DType::f32, Device::cuda());
      cuda::bf16_to_f32(widened, dst);
      const std::vector<float> got32 = on_cpu(widened).to_vector<float>();
      for (std::size_t i = 0; i < got32.size(); ++i) {
        ASSERT_EQ(std::bit_cast<std::uint32_t>(got32[i]), static_cast<std::uint32_t>(got[i]) << 16)
            << "bf16 -> f32" << tag << " at " << i;
      }
    }
  }
  // Strided views are for copy_; these kernels say so.
  const Tensor m = on_cuda(input({4, 6}, 32));
  const Tensor out = Tensor::empty({6, 4}, DType::bf16, Device::cuda());
  expect_error([&] { cuda::f32_to_bf16(out, raw::transpose(m, 0, 1)); }, {"f32 -> bf16", "contiguous"});
  expect_error([&] { cuda::bf16_to_f32(out, out); }, {"bf16 -> f32", "expected bf16 -> f32"});
}

// ---- errors (no GPU needed) ----

TEST(MatmulErrors, GemmOutputChecks) {
  const Tensor a = zeros({2, 3}), b = zeros({3, 4});
  expect_error(
      [&] {
        raw::gemm_into(zeros({2, 4}, {DType::f64}), a, b);
      },
      {"gemm: output dtype f64 differs from the operands' f32"});
  expect_error([&] { raw::gemm_into(transpose(zeros({4, 2}), 0, 1), a, b); }, {"gemm: the output", "row-major"});
  // bf16 operands may write f32, but only on CUDA.
  const Tensor a16 = raw::to_dtype(a, DType::bf16), b16 = raw::to_dtype(b, DType::bf16);
  expect_error([&] { raw::gemm_into(zeros({2, 4}), a16, b16); }, {"gemm", "bf16 on CUDA only"});
}

TEST(MatmulErrors, DevicesMustMatch) {
  SKIP_WITHOUT_CUDA();
  const Tensor a = zeros({2, 3}), b = on_cuda(zeros({3, 4}));
  expect_error([&] { raw::mm(a, b); }, {"mm: operands are on different devices (cpu and cuda:0)"});
  expect_error([&] { raw::gemm_into(zeros({2, 4}), on_cuda(a), b); }, {"gemm: output on cpu but operands on cuda:0"});
  expect_error(
      [&] {
        raw::linear(on_cuda(a), on_cuda(zeros({4, 3})), zeros({4}));
      },
      {"linear: bias on cpu but input on cuda:0"});
}
