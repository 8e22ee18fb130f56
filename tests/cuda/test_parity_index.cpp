// CPU-vs-CUDA parity of the indexing ops and topk: cat/stack, index_select, gather, scatter_add,
// embedding (forward and gradients, so index_add_, scatter_add_ and embedding_backward too) over odd
// sizes, strided inputs and indices, i64 and i32 indices, repeated indices; the same error messages
// for out-of-range indices; topk with ties, NaN and signed zeros. Skips without a GPU.
//
// Tolerances: the data-moving ops (cat, index_select, gather, topk) copy values, so they must agree
// exactly. The adds (index_add_, scatter_add_, embedding_backward) sum each target's sources in the
// CPU's order (sorted by position), so they are bit-identical too: every test here is exact, which
// also proves the determinism the issue asks for.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "core/ops/copy.h"
#include "core/ops/index.h"
#include "core/ops/topk.h"
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

/// Bit-for-bit (NaN meets NaN): every comparison of this file.
constexpr Tolerance kExact{0.0, 0.0};

Tensor to_cuda(const Tensor& t) { return raw::to_device(t, Device::cuda()); }

/// Random indices in [0, bound) of `shape` (repeats are frequent when the count exceeds the bound).
Tensor random_index(const Shape& shape, std::int64_t bound, std::uint64_t seed, DType dtype = DType::i64) {
  manual_seed(seed);
  return randint(0, bound, shape, {dtype});
}

/// f32 values of `shape` with many ties: multiples of 0.5 in [-2, 2], plus NaN, -0 and +0 now and then.
Tensor tied_values(const Shape& shape, std::uint64_t seed) {
  const std::int64_t n = numel_of(shape);
  std::vector<float> values(static_cast<std::size_t>(n));
  std::uint64_t state = seed * 6364136223846793005ull + 1442695040888963407ull;
  for (auto& v : values) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    const auto r = static_cast<int>((state >> 33) % 23);
    v = r == 0 ? std::numeric_limits<float>::quiet_NaN() : r == 1 ? -0.0f : r == 2 ? 0.0f : 0.5f * (r % 9 - 4);
  }
  return from_vector(values, shape);
}

void expect_exact(const Tensor& cpu, const Tensor& cuda, const std::string& what) {
  ASSERT_TRUE(cuda.device().is_cuda()) << what;
  expect_close(cpu, cuda, kExact, what);
}

}  // namespace

// ---- cat / stack ----

TEST(CudaParityIndex, CatAndStackOfContiguousAndStridedInputs) {
  SKIP_WITHOUT_CUDA();
  for (std::int64_t n : parity_sizes()) {
    const std::string size = " n=" + std::to_string(n);
    const Tensor a = parity_input({n, 3}, 1), b = parity_input({2, n}, 2), c = parity_input({n}, 3);
    // Along dim 0 of 1-D inputs (one dense block each: plain device copies).
    expect_cuda_parity(
        [](const std::vector<Tensor>& in) {
          return cat({in[0], in[1]}, 0);
        },
        {c, parity_input({5}, 4)}, kExact, "cat 1-D" + size);
    // Along dim 1 with a transposed (strided) input.
    expect_cuda_parity(
        [](const std::vector<Tensor>& in) {
          return cat({in[0], transpose(in[1], 0, 1)}, 1);
        },
        {a, b}, kExact, "cat dim 1, strided" + size);
    // stack = cat of unsqueezed inputs; a transposed one and an expanded (stride 0) one.
    expect_cuda_parity(
        [n](const std::vector<Tensor>& in) {
          return stack({in[0], transpose(in[1], 0, 1), expand(unsqueeze(in[2], 1), {n, 3})}, 1);
        },
        // c's gradient sums the 3 expanded columns (a reduction of another family): the default tolerance.
        {a, parity_input({3, n}, 5), c}, Tolerance{}, "stack dim 1" + size);
  }
}

TEST(CudaParityIndex, CatOfWideRowsAndOtherDtypes) {
  SKIP_WITHOUT_CUDA();
  // Rows of 8 and 4 floats: 16-byte units; rows of 3: element by element.
  expect_cuda_parity(
      [](const std::vector<Tensor>& in) {
        return cat({in[0], in[1], in[2]}, 1);
      },
      {parity_input({33, 8}, 6), parity_input({33, 4}, 7), parity_input({33, 3}, 8)}, kExact,
      "cat of [33, 8], [33, 4], [33, 3]");
  // Integer and bool inputs (no gradients), an empty input in the middle.
  const Tensor i = random_index({7, 5}, 100, 9), j = random_index({7, 0}, 100, 10), k = random_index({7, 2}, 100, 11);
  expect_exact(raw::cat({i, j, k}, 1), raw::cat({to_cuda(i), to_cuda(j), to_cuda(k)}, 1), "cat i64");
  const Tensor mask = raw::to_dtype(random_index({9, 3}, 2, 12), DType::b8);
  expect_exact(raw::cat({mask, mask}, 0), raw::cat({to_cuda(mask), to_cuda(mask)}, 0), "cat bool");
}

// ---- index_select ----

TEST(CudaParityIndex, IndexSelectOddSizesRepeatedIndices) {
  SKIP_WITHOUT_CUDA();
  for (std::int64_t n : parity_sizes()) {
    for (DType index_dtype : {DType::i64, DType::i32}) {
      const std::string what = "index_select n=" + std::to_string(n) + (index_dtype == DType::i32 ? " i32" : " i64");
      // n indices into n rows: repeats; the gradient is index_add_ with repeated targets.
      expect_cuda_parity([](const std::vector<Tensor>& in) { return index_select(in[0], 0, in[1]); },
                         {parity_input({n}, 20), random_index({n}, n, 21, index_dtype)}, kExact, what + " 1-D");
      if (n > 33) continue;
      // Rows of 5 along dim 0; columns along dim 1 (index_add_ with outer > 1).
      expect_cuda_parity([](const std::vector<Tensor>& in) { return index_select(in[0], 0, in[1]); },
                         {parity_input({n, 5}, 22), random_index({2 * n + 1}, n, 23, index_dtype)}, kExact,
                         what + " dim 0");
      expect_cuda_parity([](const std::vector<Tensor>& in) { return index_select(in[0], 1, in[1]); },
                         {parity_input({n, 6, 3}, 24), random_index({9}, 6, 25, index_dtype)}, kExact, what + " dim 1");
    }
  }
}

TEST(CudaParityIndex, IndexSelectStridedInputAndIndex) {
  SKIP_WITHOUT_CUDA();
  // x transposed (read in place by the strided kernel); the index a strided column of a 2-D tensor.
  expect_cuda_parity(
      [](const std::vector<Tensor>& in) { return index_select(transpose(in[0], 0, 1), 0, select(in[1], 1, 1)); },
      {parity_input({7, 33}, 30), random_index({40, 2}, 33, 31)}, kExact, "index_select transposed x, strided index");
  // A 0-d index, and an expanded (stride 0) x.
  expect_cuda_parity(
      [](const std::vector<Tensor>& in) {
        return index_select(expand(in[0], {4, 33}), 1, select(in[1], 0, 0));
      },
      // The expanded x's gradient sums 4 rows (a reduction of another family): the default tolerance.
      {parity_input({1, 33}, 32), random_index({3}, 33, 33)}, Tolerance{}, "index_select 0-d index, expanded x");
}

// ---- gather / scatter_add ----

TEST(CudaParityIndex, GatherAndScatterAddOddSizes) {
  SKIP_WITHOUT_CUDA();
  for (std::int64_t n : parity_sizes()) {
    const std::string size = " n=" + std::to_string(n);
    const std::int64_t rows = n > 33 ? 3 : n;
    for (DType index_dtype : {DType::i64, DType::i32}) {
      const std::string what = size + (index_dtype == DType::i32 ? " i32" : " i64");
      // dim 1: each row picks 4 of its n entries (repeats when n < 4); gradient = scatter_add_.
      expect_cuda_parity([](const std::vector<Tensor>& in) { return gather(in[0], 1, in[1]); },
                         {parity_input({rows, n}, 40), random_index({rows, 4}, n, 41, index_dtype)}, kExact,
                         "gather dim 1" + what);
      // dim 0 with an index narrower than x in dim 1; the index longer than x along dim 0.
      expect_cuda_parity([](const std::vector<Tensor>& in) { return gather(in[0], 0, in[1]); },
                         {parity_input({n, 6}, 42), random_index({2 * rows + 1, 4}, n, 43, index_dtype)}, kExact,
                         "gather dim 0" + what);
    }
    // scatter_add of src into x along dim 1 with repeated targets; gradients of x and src.
    expect_cuda_parity([](const std::vector<Tensor>& in) { return scatter_add(in[0], 1, in[2], in[1]); },
                       {parity_input({rows, n}, 44), parity_input({rows, 9}, 45), random_index({rows, 9}, n, 46)},
                       kExact, "scatter_add dim 1" + size);
  }
}

TEST(CudaParityIndex, GatherAndScatterAddStrided) {
  SKIP_WITHOUT_CUDA();
  // Transposed x and src, and a transposed index.
  expect_cuda_parity(
      [](const std::vector<Tensor>& in) { return gather(transpose(in[0], 0, 1), 1, transpose(in[1], 0, 1)); },
      {parity_input({33, 7}, 50), random_index({5, 7}, 33, 51)}, kExact, "gather strided x and index");
  expect_cuda_parity([](const std::vector<Tensor>& in) { return scatter_add(in[0], 0, in[2], transpose(in[1], 0, 1)); },
                     {parity_input({7, 33}, 52), parity_input({33, 40}, 53), random_index({40, 33}, 7, 54)}, kExact,
                     "scatter_add strided src, dim 0");
  // In place into a strided destination (a transposed view), i64 and i32 values.
  const Tensor index = random_index({33, 20}, 7, 55);
  for (DType dtype : {DType::f32, DType::i64, DType::i32}) {
    const Tensor src = raw::to_dtype(random_index({33, 20}, 1000, 56), dtype);
    const Tensor base = raw::to_dtype(random_index({7, 33}, 1000, 57), dtype);
    const Tensor cpu = raw::clone(base), cuda = to_cuda(base);
    raw::scatter_add_(raw::transpose(cpu, 0, 1), 1, index, src);
    raw::scatter_add_(raw::transpose(cuda, 0, 1), 1, to_cuda(index), to_cuda(src));
    expect_exact(cpu, cuda, "scatter_add_ into a transposed view");
  }
}

// ---- embedding ----

TEST(CudaParityIndex, EmbeddingRecommenderShapes) {
  SKIP_WITHOUT_CUDA();
  // [batch 256, seq 50] ids into vocabularies of 4k and 100k rows of 64; dims 1, 7 and 33; padding_idx.
  for (std::int64_t vocab : {4096, 100000}) {
    for (DType index_dtype : {DType::i64, DType::i32}) {
      const std::string what = "embedding V=" + std::to_string(vocab) + (index_dtype == DType::i32 ? " i32" : " i64");
      expect_cuda_parity([](const std::vector<Tensor>& in) { return embedding(in[0], in[1], 3); },
                         {parity_input({vocab, 64}, 60), random_index({256, 50}, vocab, 61, index_dtype)}, kExact,
                         what);
    }
  }
  for (std::int64_t dim : {1, 7, 33}) {
    // 7 rows, 12800 ids: every row is hit ~1800 times, in position order.
    expect_cuda_parity([](const std::vector<Tensor>& in) { return embedding(in[0], in[1], 0); },
                       {parity_input({7, dim}, 62), random_index({256, 50}, 7, 63)}, kExact,
                       "embedding heavily repeated, D=" + std::to_string(dim));
  }
  // A strided (transposed) weight and strided ids.
  expect_cuda_parity([](const std::vector<Tensor>& in) { return embedding(t(in[0]), select(in[1], 2, 1)); },
                     {parity_input({64, 500}, 64), random_index({32, 10, 2}, 500, 65)}, kExact,
                     "embedding strided weight and ids");
}

TEST(CudaParityIndex, EmbeddingBackwardIsDeterministic) {
  SKIP_WITHOUT_CUDA();
  // Many repeats of few rows, twice on the GPU: the same bits each time, and the CPU's bits.
  const Tensor grad = parity_input({256 * 50, 64}, 70).detach();
  const Tensor ids = random_index({256 * 50}, 100, 71);
  const Tensor cpu = raw::embedding_backward(grad, ids, 100, 5);
  const Tensor first = raw::embedding_backward(to_cuda(grad), to_cuda(ids), 100, 5);
  const Tensor second = raw::embedding_backward(to_cuda(grad), to_cuda(ids), 100, 5);
  expect_exact(first, second, "embedding_backward run twice");
  expect_exact(cpu, first, "embedding_backward vs CPU");
  // index_add_ into a non-zero destination, repeated indices, f32 and i64.
  for (DType dtype : {DType::f32, DType::i64}) {
    const Tensor dst = raw::to_dtype(random_index({50, 9}, 100, 72), dtype);
    const Tensor src = raw::to_dtype(random_index({1000, 9}, 100, 73), dtype);
    const Tensor index = random_index({1000}, 50, 74, DType::i32);
    const Tensor on_cpu = raw::clone(dst), on_cuda = to_cuda(dst);
    raw::index_add_(on_cpu, 0, index, src);
    raw::index_add_(on_cuda, 0, to_cuda(index), to_cuda(src));
    expect_exact(on_cpu, on_cuda, "index_add_");
  }
}

// ---- index errors: the CPU's message, word for word ----

TEST(CudaParityIndex, OutOfRangeIndicesGiveTheCpuMessage) {
  SKIP_WITHOUT_CUDA();
  const auto message_of = [](const std::function<void()>& fn) -> std::string {
    try {
      fn();
    } catch (const Error& error) {
      return error.what();
    }
    return "no error";
  };
  const Tensor x = parity_input({5, 6}, 80).detach();
  // The first bad position (row-major) is reported, with its value: here [1, 2] holds 9 and [2, 0] holds -1.
  const Tensor index = from_vector<std::int64_t>({0, 1, 2, 3, 4, 5, 0, 1, 9, 3, 4, 5, -1, 0, 0}, {3, 5});
  const Tensor flat = raw::reshape(index, {15});
  const Tensor xc = to_cuda(x), ic = to_cuda(index), fc = to_cuda(flat);
  // Each case gets (input, 2-D index, the index flattened) on one device.
  using Case = std::function<void(const Tensor&, const Tensor&, const Tensor&)>;
  const std::vector<std::pair<Case, std::string>> cases{
      {[](const Tensor& in, const Tensor&, const Tensor& f) { raw::index_select(in, 1, f); }, "index_select"},
      {[](const Tensor& in, const Tensor& i, const Tensor&) { raw::gather(raw::narrow(in, 0, 0, 3), 1, i); }, "gather"},
      {[](const Tensor& in, const Tensor& i, const Tensor&) { raw::embedding(in, i); }, "embedding"},
      {[](const Tensor& in, const Tensor& i, const Tensor&) {
         raw::scatter_add_(raw::clone(raw::narrow(in, 0, 0, 3)), 1, i, raw::narrow(in, 0, 0, 3));
       },
       "scatter_add"},
  };
  for (const auto& [fn, name] : cases) {
    const std::string cpu = message_of([&] { fn(x, index, flat); });
    const std::string cuda = message_of([&] { fn(xc, ic, fc); });
    EXPECT_NE(cpu.find("out of range"), std::string::npos) << name << ": " << cpu;
    EXPECT_EQ(cpu, cuda) << name;
  }
  // Mixing devices is an error naming both.
  expect_error([&] { raw::index_select(xc, 0, flat); }, {"index_select", "cpu", "cuda:0"});
  expect_error([&] { raw::cat({x, xc}, 0); }, {"cat", "tensor 1", "cuda:0"});
}

// ---- topk ----

namespace {

/// raw::topk on the CPU and on CUDA: values and indices bit for bit.
void expect_topk_parity(const Tensor& x, std::int64_t k, std::int64_t dim, bool largest, const std::string& what) {
  const raw::ValuesIndices cpu = raw::topk(x, k, dim, largest);
  const raw::ValuesIndices cuda = raw::topk(to_cuda(x), k, dim, largest);
  const std::string name = what + " k=" + std::to_string(k) + (largest ? " largest" : " smallest");
  expect_exact(cpu.values, cuda.values, name + " values");
  expect_exact(cpu.indices, cuda.indices, name + " indices");
}

}  // namespace

TEST(CudaParityTopk, RankingShapesWithTies) {
  SKIP_WITHOUT_CUDA();
  for (std::int64_t k : {1, 10, 100}) {
    for (bool largest : {true, false}) {
      // Distinct values, then heavy ties with NaN and signed zeros (the index order decides).
      expect_topk_parity(parity_input({256, 4096}, 90).detach(), k, -1, largest, "topk [256, 4096]");
      expect_topk_parity(tied_values({256, 4096}, 91), k, -1, largest, "topk [256, 4096] tied");
      expect_topk_parity(parity_input({4, 100003}, 92).detach(), k, -1, largest, "topk [4, 100003]");
      expect_topk_parity(tied_values({4, 100003}, 93), k, -1, largest, "topk [4, 100003] tied");
    }
  }
  // The differentiable op: values and the gradient scattered back.
  expect_cuda_parity([](const std::vector<Tensor>& in) { return topk(in[0], 10).values; },
                     {parity_input({33, 4096}, 94)}, kExact, "topk autograd");
}

TEST(CudaParityTopk, OddSizesDtypesAndLargeK) {
  SKIP_WITHOUT_CUDA();
  for (std::int64_t n : parity_sizes()) {
    for (std::int64_t k : {std::int64_t{1}, std::min<std::int64_t>(n, 7), n > 5000 ? 2000 : n}) {
      expect_topk_parity(tied_values({3, n}, 100), k, -1, true, "topk [3, " + std::to_string(n) + "] tied");
    }
  }
  // k above the shared-memory sort (the segmented radix sort), with ties; k = n.
  expect_topk_parity(tied_values({5, 5000}, 101), 2000, -1, true, "topk k > 1024");
  expect_topk_parity(tied_values({5, 5000}, 102), 5000, -1, false, "topk k = n");
  // f64, i64 and i32 (many ties), along a non-last dim and on a strided input.
  manual_seed(103);
  expect_topk_parity(randn({6, 3000}, {DType::f64}), 50, 1, true, "topk f64");
  expect_topk_parity(random_index({6, 3000}, 20, 104), 50, 1, true, "topk i64");
  expect_topk_parity(random_index({6, 3000}, 20, 105, DType::i32), 1100, 1, false, "topk i32");
  expect_topk_parity(tied_values({3000, 6}, 106), 20, 0, true, "topk dim 0");
  expect_topk_parity(raw::transpose(tied_values({6, 3000}, 107), 0, 1), 20, 0, false, "topk strided");
  expect_topk_parity(tied_values({4, 0}, 108), 0, -1, true, "topk empty rows");
}
