// CPU-vs-CUDA parity of the losses: the fused cross-entropy (recommender vocabularies of 4096 and 100003
// classes, odd class counts, ignore_index rows, label smoothing, every reduction, i64 and i32 targets,
// strided logits) and binary cross-entropy on logits (odd sizes, strided and broadcast operands), forward
// and gradients. The out-of-range target error must read the same on both devices. Skips without a GPU.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/ops/copy.h"
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

constexpr std::int64_t kIgnore = -100;

/// Targets in [0, classes) from `seed`; every `ignore_every`-th row (0: none) is kIgnore.
Tensor make_targets(std::int64_t rows, std::int64_t classes, std::uint64_t seed, std::int64_t ignore_every = 0,
                    DType dtype = DType::i64) {
  manual_seed(seed);
  std::vector<std::int64_t> values = randint(0, classes, {rows}).to_vector<std::int64_t>();
  for (std::int64_t i = 0; ignore_every > 0 && i < rows; i += ignore_every) values[i] = kIgnore;
  return raw::to_dtype(from_vector(values, {rows}), dtype);
}

std::string reduction_name(Reduction reduction) {
  switch (reduction) {
    case Reduction::None:
      return "none";
    case Reduction::Sum:
      return "sum";
    case Reduction::Mean:
      break;
  }
  return "mean";
}

/// The cross-entropy gradients are w (p - q) with p ~ 1/C: an absolute floor of 1e-7 (about one float
/// rounding of |w| <= a few) for per-row weights, divided by the row count where Mean divides w by it.
Tolerance cross_entropy_tolerance(Reduction reduction, std::int64_t rows) {
  return Tolerance{1e-5, reduction == Reduction::Mean ? 1e-7 / static_cast<double>(rows) : 1e-7};
}

void expect_cross_entropy_parity(const Tensor& logits, const Tensor& targets, CrossEntropyOptions options,
                                 const std::string& what) {
  const std::int64_t rows = logits.shape()[0];
  expect_cuda_parity([&](const std::vector<Tensor>& in) { return cross_entropy(in[0], in[1], options); },
                     {logits, targets}, cross_entropy_tolerance(options.reduction, rows),
                     what + " reduction " + reduction_name(options.reduction) + " smoothing " +
                         std::to_string(options.label_smoothing));
}

}  // namespace

TEST(CudaParityLoss, CrossEntropyRecommenderVocabularies) {
  SKIP_WITHOUT_CUDA();
  // 4096 classes over 1000 rows; 100003 (odd, > one block's columns) over 64 rows.
  for (const auto& [rows, classes] : std::vector<std::pair<std::int64_t, std::int64_t>>{{1000, 4096}, {64, 100003}}) {
    const Tensor logits = parity_input({rows, classes}, 11);
    const Tensor targets = make_targets(rows, classes, 12, /*ignore_every=*/7);
    for (Reduction reduction : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
      expect_cross_entropy_parity(logits, targets, {kIgnore, 0.0, reduction},
                                  "[" + std::to_string(rows) + ", " + std::to_string(classes) + "]");
    }
    expect_cross_entropy_parity(logits, targets, {kIgnore, 0.1, Reduction::Mean},
                                "[" + std::to_string(rows) + ", " + std::to_string(classes) + "]");
  }
}

TEST(CudaParityLoss, CrossEntropyOddClassCounts) {
  SKIP_WITHOUT_CUDA();
  for (std::int64_t classes : {std::int64_t{1}, std::int64_t{7}, std::int64_t{33}}) {
    for (std::int64_t rows : {std::int64_t{1}, std::int64_t{33}}) {
      const Tensor logits = parity_input({rows, classes}, 21 + classes);
      const std::string name = "[" + std::to_string(rows) + ", " + std::to_string(classes) + "]";
      for (Reduction reduction : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
        for (double smoothing : {0.0, 0.25}) {
          expect_cross_entropy_parity(logits, make_targets(rows, classes, 22, /*ignore_every=*/rows > 1 ? 5 : 0),
                                      {kIgnore, smoothing, reduction}, name);
        }
      }
    }
  }
}

TEST(CudaParityLoss, CrossEntropyIgnoreIndexAndTargetDtypes) {
  SKIP_WITHOUT_CUDA();
  const Tensor logits = parity_input({97, 300}, 31);
  // Every row ignored: Mean is 0 / 0 = NaN on both devices, the gradient is 0.
  expect_cross_entropy_parity(logits, make_targets(97, 300, 32, /*ignore_every=*/1), {kIgnore, 0.0, Reduction::Sum},
                              "all ignored");
  expect_cross_entropy_parity(logits, make_targets(97, 300, 32, /*ignore_every=*/1), {kIgnore, 0.0, Reduction::None},
                              "all ignored");
  // A non-default ignore_index that is also a valid class: rows with target 3 are ignored.
  expect_cross_entropy_parity(logits, make_targets(97, 300, 33), {3, 0.0, Reduction::Mean}, "ignore_index 3");
  // i32 targets, and targets read through a stride (every other element of a longer vector).
  expect_cross_entropy_parity(logits, make_targets(97, 300, 34, 4, DType::i32), {kIgnore, 0.1, Reduction::Mean},
                              "i32 targets");
  const Tensor long_targets = make_targets(194, 300, 35, 9);
  expect_cuda_parity([](const std::vector<Tensor>& in) { return cross_entropy(in[0], slice(in[1], 0, 0, 194, 2)); },
                     {logits, long_targets}, cross_entropy_tolerance(Reduction::Mean, 97), "strided targets");
}

TEST(CudaParityLoss, CrossEntropyStridedLogits) {
  SKIP_WITHOUT_CUDA();
  const std::int64_t rows = 65, classes = 1031;
  const Tensor targets = make_targets(rows, classes, 41, 6);
  const Tolerance tol = cross_entropy_tolerance(Reduction::Mean, rows);
  // Transposed: column stride != 1, so the forward works on a dense copy.
  expect_cuda_parity([](const std::vector<Tensor>& in) { return cross_entropy(transpose(in[0], 0, 1), in[1]); },
                     {parity_input({classes, rows}, 42), targets}, tol, "transposed logits");
  // A column slice of a wider matrix: unit column stride, row stride classes + 3, read in place.
  expect_cuda_parity(
      [&](const std::vector<Tensor>& in) { return cross_entropy(slice(in[0], 1, 2, 2 + classes), in[1]); },
      {parity_input({rows, classes + 3}, 43), targets}, tol, "column-sliced logits");
  // One row broadcast to every row (row stride 0).
  expect_cuda_parity(
      [&](const std::vector<Tensor>& in) {
        return cross_entropy(expand(in[0], {rows, classes}), in[1]);
      },
      {parity_input({1, classes}, 44), targets}, tol, "expanded logits");
}

TEST(CudaParityLoss, CrossEntropyTargetOutOfRangeReadsLikeTheCpu) {
  SKIP_WITHOUT_CUDA();
  const Tensor logits = parity_input({9, 5}, 51);
  for (std::int64_t bad : {std::int64_t{5}, std::int64_t{-1}}) {
    std::vector<std::int64_t> values{0, 1, kIgnore, 2, 3, bad, 4, bad + 1, 0};
    const Tensor targets = from_vector(values, {9});
    std::string cpu_message;
    try {
      cross_entropy(logits, targets);
    } catch (const Error& error) {
      cpu_message = error.what();
    }
    ASSERT_FALSE(cpu_message.empty());
    expect_error(
        [&] { cross_entropy(raw::to_device(logits, Device::cuda()), raw::to_device(targets, Device::cuda())); },
        {cpu_message, "target " + std::to_string(bad) + " at row 5", "out of range [0, 5)"});
  }
  // The device is still usable after the error (nothing sticky, nothing aborted).
  const Tensor targets = make_targets(9, 5, 52);
  expect_cross_entropy_parity(logits, targets, {kIgnore, 0.0, Reduction::Mean}, "after an error");
}

TEST(CudaParityLoss, BinaryCrossEntropyAtOddSizes) {
  SKIP_WITHOUT_CUDA();
  for (std::int64_t n : parity_sizes()) {
    const Tensor logits = parity_input({n}, 61);
    manual_seed(62);
    Tensor targets = rand({n});
    targets.requires_grad_();
    for (Reduction reduction : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
      // The 1000003-element Mean/Sum compare one sum of a million terms taken in different orders on the two
      // devices: rtol 1e-5 still holds for sums accumulated as the reductions do (double on the CPU).
      expect_cuda_parity(
          [&](const std::vector<Tensor>& in) { return binary_cross_entropy_with_logits(in[0], in[1], reduction); },
          {logits, targets}, Tolerance{1e-5, 1e-6 / static_cast<double>(reduction == Reduction::Mean ? n : 1)},
          "bce n=" + std::to_string(n) + " reduction " + reduction_name(reduction));
    }
  }
}

TEST(CudaParityLoss, BinaryCrossEntropyStridedAndLargeLogits) {
  SKIP_WITHOUT_CUDA();
  // Transposed logits, targets broadcast along a dimension; large |x| where log1p(exp(-|x|)) underflows.
  manual_seed(71);
  Tensor row_targets = rand({1, 33});
  expect_cuda_parity(
      [](const std::vector<Tensor>& in) {
        return binary_cross_entropy_with_logits(transpose(in[0], 0, 1), expand(in[1], {7, 33}), Reduction::None);
      },
      {parity_input({33, 7}, 72), row_targets}, Tolerance{}, "bce transposed logits, expanded targets");
  Tensor extreme = from_vector(std::vector<float>{-120.f, -30.f, -1e-3f, 0.f, 1e-3f, 30.f, 120.f}, {7});
  extreme.requires_grad_();
  Tensor extreme_targets = from_vector(std::vector<float>{0.f, 1.f, 0.5f, 0.f, 1.f, 0.25f, 1.f}, {7});
  extreme_targets.requires_grad_();
  expect_cuda_parity(
      [](const std::vector<Tensor>& in) { return binary_cross_entropy_with_logits(in[0], in[1], Reduction::None); },
      {extreme, extreme_targets}, Tolerance{}, "bce extreme logits");
}
