// Dropout: the Philox keep mask (reproducible per seed, independent of the
// thread count, equal to rand() >= p, keep fraction near 1 - p), the scaled
// output and its gradient, the identity / all-zero cases, and errors.
#include <gtest/gtest.h>

#include <omp.h>

#include <cmath>
#include <limits>
#include <string>

#include "core/ops/random.h"
#include "recgrad.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::testing;

namespace {

// 1 where dropout kept the element of an all-ones input, 0 where it dropped it.
std::vector<int> kept_pattern(const Tensor& out) {
  std::vector<int> kept;
  for (float v : out.to_vector<float>()) kept.push_back(v != 0.0f ? 1 : 0);
  return kept;
}

// Runs `fn` with OpenMP limited to `threads` threads, then restores the limit.
template <typename Fn>
auto with_threads(int threads, Fn fn) {
  const int previous = omp_get_max_threads();
  omp_set_num_threads(threads);
  auto result = fn();
  omp_set_num_threads(previous);
  return result;
}

}  // namespace

TEST(Dropout, SameSeedSameMask) {
  const Tensor x = ones({64, 33});
  Generator a(42), b(42), c(43);
  const std::vector<int> first = kept_pattern(dropout(x, 0.5, true, &a));
  EXPECT_EQ(first, kept_pattern(dropout(x, 0.5, true, &b)));
  EXPECT_NE(first, kept_pattern(dropout(x, 0.5, true, &c)));
  // The generator advances: the next call draws a fresh mask.
  EXPECT_NE(first, kept_pattern(dropout(x, 0.5, true, &a)));
  // The default generator is reproducible through manual_seed.
  manual_seed(7);
  const std::vector<int> from_default = kept_pattern(dropout(x, 0.5, true));
  manual_seed(7);
  EXPECT_EQ(from_default, kept_pattern(dropout(x, 0.5, true)));
}

TEST(Dropout, MaskIsRandAtLeastP) {
  // keep_i = (u_i >= p) with u_i the same uniform rand() draws for element i.
  const double p = 0.37;
  Generator for_dropout(2024), for_rand(2024);
  const std::vector<int> kept = kept_pattern(dropout(ones({1001}), p, true, &for_dropout));
  const std::vector<float> uniforms = rand({1001}, 0, 1, {DType::f32}, &for_rand).to_vector<float>();
  for (std::size_t i = 0; i < kept.size(); ++i) ASSERT_EQ(kept[i], uniforms[i] >= p ? 1 : 0) << i;
  // Both reserved ceil(1001 / 4) Philox counters.
  EXPECT_EQ(for_dropout.offset(), 251u);
  EXPECT_EQ(for_dropout.offset(), for_rand.offset());
}

TEST(Dropout, MaskDoesNotDependOnThreadCount) {
  const Tensor x = ones({400, 250});  // 100k elements: the multi-threaded path
  const std::vector<int> one_thread = with_threads(1, [&] {
    Generator generator(99);
    return kept_pattern(dropout(x, 0.3, true, &generator));
  });
  const std::vector<int> two_threads = with_threads(2, [&] {
    Generator generator(99);
    return kept_pattern(dropout(x, 0.3, true, &generator));
  });
  EXPECT_EQ(one_thread, two_threads);
}

TEST(Dropout, KeepFractionNearOneMinusP) {
  const Tensor x = ones({100000});
  for (double p : {0.1, 0.5, 0.9}) {
    Generator generator(5);
    const std::vector<int> kept = kept_pattern(dropout(x, p, true, &generator));
    double fraction = 0;
    for (int k : kept) fraction += k;
    fraction /= static_cast<double>(kept.size());
    // The standard deviation of the fraction is at most 0.0016; allow 5 of them.
    EXPECT_NEAR(fraction, 1.0 - p, 0.008) << "p = " << p;
  }
}

TEST(Dropout, KeptValuesAreScaled) {
  manual_seed(3);
  const Tensor x = randn({37, 19});
  const double p = 0.25;
  Generator generator(11);
  const std::vector<float> out = dropout(x, p, true, &generator).to_vector<float>();
  const std::vector<float> in = x.to_vector<float>();
  int dropped = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == 0.0f) {
      ++dropped;
    } else {
      EXPECT_EQ(out[i], in[i] * static_cast<float>(1.0 / (1.0 - p))) << i;
    }
  }
  EXPECT_GT(dropped, 0);
  EXPECT_LT(dropped, static_cast<int>(out.size()) / 2);
}

TEST(Dropout, NonContiguousInputUsesLogicalOrder) {
  const Tensor x = arange(1, 13, 1, {DType::f32});
  const Tensor xt = transpose(reshape(x, {3, 4}), 0, 1);  // [4, 3], not contiguous
  Generator a(8), b(8);
  const Tensor from_view = dropout(xt, 0.5, true, &a);
  const Tensor from_copy = dropout(contiguous(xt), 0.5, true, &b);
  EXPECT_EQ(from_view.shape(), (Shape{4, 3}));
  EXPECT_EQ(from_view.to_vector<float>(), from_copy.to_vector<float>());
}

TEST(Dropout, GradientIsMaskOverKeepProbability) {
  Tensor x = ones({500}, {DType::f64}).requires_grad_();
  Generator generator(21);
  const Tensor y = dropout(x, 0.4, true, &generator);
  sum(y).backward();
  // For an all-ones input y = keep / 0.6, which is exactly the gradient of sum(y).
  EXPECT_EQ(x.grad().to_vector<double>(), y.to_vector<double>());
}

TEST(Dropout, Gradcheck) {
  manual_seed(4);
  // A fresh generator with a fixed seed per evaluation keeps the mask fixed.
  const auto fn = [](const std::vector<Tensor>& in) {
    Generator generator(77);
    return dropout(in[0], 0.3, true, &generator);
  };
  const GradcheckResult contiguous_result = gradcheck(fn, {randn({6, 7}, {DType::f64}).requires_grad_()});
  EXPECT_TRUE(contiguous_result.ok) << contiguous_result.report;
  const GradcheckResult transposed_result =
      gradcheck(fn, {transpose(randn({7, 6}, {DType::f64}), 0, 1).requires_grad_()});
  EXPECT_TRUE(transposed_result.ok) << transposed_result.report;
}

TEST(Dropout, IdentityAndAllDropped) {
  Tensor x = randn({5, 4}).requires_grad_();
  Generator generator(1);
  EXPECT_TRUE(dropout(x, 0.5, false, &generator).shares_storage(x));  // evaluation
  EXPECT_TRUE(dropout(x, 0.0, true, &generator).shares_storage(x));   // nothing to drop
  EXPECT_EQ(generator.offset(), 0u);                                  // and nothing drawn

  const Tensor zeros_out = dropout(x, 1.0, true, &generator);
  EXPECT_EQ(zeros_out.to_vector<float>(), std::vector<float>(20, 0.0f));
  sum(zeros_out).backward();
  EXPECT_EQ(x.grad().to_vector<float>(), std::vector<float>(20, 0.0f));
}

TEST(Dropout, RawKeepMask) {
  Generator a(6), b(6);
  const Tensor keep = raw::dropout_keep_mask({3, 5}, 0.5, a);
  EXPECT_EQ(keep.dtype(), DType::b8);
  EXPECT_EQ(keep.shape(), (Shape{3, 5}));
  std::vector<int> expected = kept_pattern(dropout(ones({3, 5}), 0.5, true, &b));
  EXPECT_EQ(keep.to_vector<int>(), expected);
  Generator c(6);
  const std::vector<int> all_kept = raw::dropout_keep_mask({9}, 0.0, c).to_vector<int>();
  EXPECT_EQ(all_kept, std::vector<int>(9, 1));
  const std::vector<int> none_kept = raw::dropout_keep_mask({9}, 1.0, c).to_vector<int>();
  EXPECT_EQ(none_kept, std::vector<int>(9, 0));
}

TEST(Dropout, Errors) {
  const Tensor x = ones({2, 3});
  expect_error([&] { dropout(x, -0.1, true); }, {"dropout", "[0, 1]", "-0.1", "[2, 3]"});
  expect_error([&] { dropout(x, 1.5, true); }, {"dropout", "1.5"});
  expect_error([&] { dropout(x, std::numeric_limits<double>::quiet_NaN(), true); }, {"dropout", "nan"});
  expect_error([&] { dropout(x, 1.5, false); }, {"dropout", "1.5"});  // checked in evaluation too
  expect_error([&] { dropout(ones({4}, {DType::i64}), 0.5, true); }, {"dropout", "i64", "[4]"});
  Generator generator(1);
  expect_error([&] { raw::dropout_keep_mask({4}, 2.0, generator); }, {"dropout_keep_mask", "2"});
  expect_error([&] { raw::dropout_backward(ones({4}), ones({4}), 2.0); }, {"dropout_backward", "f32", "[4]"});
}
