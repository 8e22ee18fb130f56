// parallel_for: splits [0, n) into chunks run by OpenMP threads, but only when
// the work is large enough to pay for the threads.
#pragma once

#include <algorithm>
#include <cstdint>

#include <omp.h>

namespace recgrad::cpu {

/// Work below this many elements runs on the calling thread.
inline constexpr std::int64_t kParallelGrain = 32768;

/// Calls body(begin, end) over disjoint chunks covering [0, n). Runs serially
/// when n * cost_per_item < kParallelGrain or when already inside a parallel region.
template <typename Body>
void parallel_for(std::int64_t n, std::int64_t cost_per_item, Body&& body) {
  if (n <= 0) return;
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (threads <= 1 || n * cost_per_item < kParallelGrain || n == 1) {
    body(std::int64_t{0}, n);
    return;
  }
  const std::int64_t chunks = std::min<std::int64_t>(n, threads);
#pragma omp parallel for num_threads(static_cast <int>(chunks)) schedule(static)
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::int64_t begin = n * c / chunks;
    const std::int64_t end = n * (c + 1) / chunks;
    body(begin, end);
  }
}

}  // namespace recgrad::cpu
