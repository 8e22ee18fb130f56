#include "core/cpu/topk.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/cpu/parallel.h"

namespace recgrad::cpu {
namespace {

template <typename T>
bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    return v != v;
  } else {
    return false;
  }
}

// True when element (va, ia) ranks before (vb, ib): larger (or smaller) value
// first, NaN as the largest value, then the lower index.
template <bool kLargest, typename T>
bool ranks_before(T va, std::int64_t ia, T vb, std::int64_t ib) {
  const bool nan_a = is_nan(va), nan_b = is_nan(vb);
  if (nan_a != nan_b) return nan_a == kLargest;
  if (!nan_a && va != vb) return kLargest ? va > vb : va < vb;
  return ia < ib;
}

template <typename T>
struct Entry {
  T value;
  std::int64_t index;
};

// Replaces the top of a std heap ordered by `before` (its worst entry) with
// `entry` and sifts it down: one pass instead of pop_heap + push_heap.
template <typename E, typename Before>
void replace_top(std::vector<E>& heap, const E& entry, Before before) {
  const std::size_t n = heap.size();
  std::size_t i = 0;
  while (true) {
    std::size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && before(heap[child], heap[child + 1])) ++child;  // the worse child
    if (!before(entry, heap[child])) break;
    heap[i] = heap[child];
    i = child;
  }
  heap[i] = entry;
}

// Writes the k best of row[0, n) (best first) to values/indices.
template <bool kLargest, typename T>
void select_row(const T* row, std::int64_t n, std::int64_t k, T* values, std::int64_t* indices,
                std::vector<Entry<T>>& heap, std::vector<std::int64_t>& order) {
  if (k == 0) return;
  auto before = [](const Entry<T>& a, const Entry<T>& b) {
    return ranks_before<kLargest>(a.value, a.index, b.value, b.index);
  };
  if (k * 16 <= n) {
    // One scan with a heap of the k best so far; its top is the worst of them.
    // A later element with an equal value ranks after (higher index), so only
    // a strictly better value (or a NaN, checked in full) enters.
    heap.resize(static_cast<std::size_t>(k));
    for (std::int64_t j = 0; j < k; ++j) heap[j] = {row[j], j};
    std::make_heap(heap.begin(), heap.end(), before);
    T threshold = heap.front().value;
    for (std::int64_t j = k; j < n; ++j) {
      const T v = row[j];
      const bool maybe_better = kLargest ? !(v <= threshold) : !(v >= threshold);
      if (maybe_better && ranks_before<kLargest>(v, j, threshold, heap.front().index)) {
        replace_top(heap, Entry<T>{v, j}, before);
        threshold = heap.front().value;
      }
    }
    std::sort_heap(heap.begin(), heap.end(), before);
    for (std::int64_t j = 0; j < k; ++j) {
      values[j] = heap[j].value;
      indices[j] = heap[j].index;
    }
    return;
  }
  order.resize(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  auto index_before = [row](std::int64_t a, std::int64_t b) { return ranks_before<kLargest>(row[a], a, row[b], b); };
  if (k < n) std::nth_element(order.begin(), order.begin() + (k - 1), order.end(), index_before);
  std::sort(order.begin(), order.begin() + k, index_before);
  for (std::int64_t j = 0; j < k; ++j) {
    values[j] = row[order[j]];
    indices[j] = order[j];
  }
}

// select_row for every row of the dense rows [count, n], rows in parallel.
void topk_rows_cpu(const Tensor& rows, std::int64_t n, std::int64_t k, bool largest, const Tensor& values_out,
                   const Tensor& indices_out) {
  const std::int64_t count = n == 0 ? 0 : rows.numel() / n;
  visit_numeric(rows.dtype(), "topk", [&]<typename T>(T) {
    const T* data = rows.data<T>();
    T* values = values_out.data<T>();
    std::int64_t* indices = indices_out.data<std::int64_t>();
    cpu::parallel_for(count, n, [&](std::int64_t begin, std::int64_t end) {
      std::vector<Entry<T>> heap;
      std::vector<std::int64_t> scratch;
      for (std::int64_t r = begin; r < end; ++r) {
        if (largest) {
          select_row<true>(data + r * n, n, k, values + r * k, indices + r * k, heap, scratch);
        } else {
          select_row<false>(data + r * n, n, k, values + r * k, indices + r * k, heap, scratch);
        }
      }
    });
  });
}

}  // namespace

void topk_rows(const Tensor& rows, std::int64_t k, bool largest, const Tensor& values, const Tensor& indices) {
  topk_rows_cpu(rows, rows.shape().back(), k, largest, values, indices);
}

}  // namespace recgrad::cpu
