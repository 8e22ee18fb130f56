// Row kernels shared by softmax, log_softmax, logsumexp-style losses and
// cross_entropy: max, sum of exp and a one-pass logsumexp over one dense row.
// Rows are walked in blocks of kSoftmaxBlock elements: each block is summed in
// T with vector lanes (omp simd) and the block sums are added in double, so a
// row of 100k floats is both fast and accurate.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "core/cpu/vec_math.h"

namespace recgrad::cpu {

/// Elements per block: 4 KiB of floats, so a block stays in L1 between passes.
inline constexpr std::int64_t kSoftmaxBlock = 1024;

/// max_j x[j] (-inf for an empty row).
template <typename T>
T row_max(const T* x, std::int64_t n) {
  T top = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : top)
  for (std::int64_t j = 0; j < n; ++j) top = x[j] > top ? x[j] : top;
  return top;
}

/// sum_j exp(x[j] - shift); when kStore, also writes out[j] = exp(x[j] - shift).
template <bool kStore, typename T>
double row_sum_exp(const T* x, std::int64_t n, T shift, T* out) {
  double total = 0.0;
  for (std::int64_t begin = 0; begin < n; begin += kSoftmaxBlock) {
    const std::int64_t end = std::min(n, begin + kSoftmaxBlock);
    T partial = 0;
#pragma omp simd reduction(+ : partial)
    for (std::int64_t j = begin; j < end; ++j) {
      const T e = vmath::exp(static_cast<T>(x[j] - shift));
      if constexpr (kStore) out[j] = e;
      partial += e;
    }
    total += partial;
  }
  return total;
}

/// sum_j x[j], blockwise like row_sum_exp.
template <typename T>
double row_sum(const T* x, std::int64_t n) {
  double total = 0.0;
  for (std::int64_t begin = 0; begin < n; begin += kSoftmaxBlock) {
    const std::int64_t end = std::min(n, begin + kSoftmaxBlock);
    T partial = 0;
#pragma omp simd reduction(+ : partial)
    for (std::int64_t j = begin; j < end; ++j) partial += x[j];
    total += partial;
  }
  return total;
}

/// sum_j a[j] * b[j], blockwise like row_sum_exp.
template <typename T>
double row_dot(const T* a, const T* b, std::int64_t n) {
  double total = 0.0;
  for (std::int64_t begin = 0; begin < n; begin += kSoftmaxBlock) {
    const std::int64_t end = std::min(n, begin + kSoftmaxBlock);
    T partial = 0;
#pragma omp simd reduction(+ : partial)
    for (std::int64_t j = begin; j < end; ++j) partial += a[j] * b[j];
    total += partial;
  }
  return total;
}

/// logsumexp of a row split as shift + log_sum, shift the row max, so that
/// x - logsumexp can be formed as (x - shift) - log_sum without cancellation.
template <typename T>
struct RowLogSumExp {
  T shift;
  T log_sum;  // log(sum_j exp(x[j] - shift))
  T value() const { return shift + log_sum; }
};

/// log(sum_j exp(x[j])) in one pass over memory ("online" logsumexp): each
/// block's max is taken while the block is in L1, the running sum is rescaled
/// by exp(old_max - new_max) when the max grows, then the block's exps are
/// added. All -inf gives -inf; NaN anywhere gives NaN.
template <typename T>
RowLogSumExp<T> row_logsumexp(const T* x, std::int64_t n) {
  T top = -std::numeric_limits<T>::infinity();
  double total = 0.0;
  for (std::int64_t begin = 0; begin < n; begin += kSoftmaxBlock) {
    const std::int64_t count = std::min(n, begin + kSoftmaxBlock) - begin;
    const T block_top = row_max(x + begin, count);
    if (block_top > top) {
      total *= std::exp(static_cast<double>(top) - static_cast<double>(block_top));
      top = block_top;
    }
    if (top == -std::numeric_limits<T>::infinity()) continue;  // nothing but -inf so far
    total += row_sum_exp<false>(x + begin, count, top, static_cast<T*>(nullptr));
  }
  return {top, static_cast<T>(std::log(total))};
}

}  // namespace recgrad::cpu
