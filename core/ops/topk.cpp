#include "core/ops/topk.h"

#include <algorithm>
#include <numeric>
#include <vector>

#include "core/cpu/parallel.h"
#include "core/ops/copy.h"
#include "core/ops/view.h"

#if RECGRAD_WITH_CUDA
#include "core/cuda/topk.h"
#endif

namespace recgrad::raw {

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
void topk_rows_cpu(const Tensor& rows, std::int64_t n, std::int64_t k, bool largest, const ValuesIndices& out) {
  const std::int64_t count = n == 0 ? 0 : rows.numel() / n;
  visit_numeric(rows.dtype(), "topk", [&]<typename T>(T) {
    const T* data = rows.data<T>();
    T* values = out.values.data<T>();
    std::int64_t* indices = out.indices.data<std::int64_t>();
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

ValuesIndices topk(const Tensor& x, std::int64_t k, std::int64_t dim, bool largest, bool /*sorted*/) {
  RG_CHECK(x.dim() >= 1, "topk: expected a tensor with at least one dimension, got ", x.dtype(), " ", x.shape());
  const AxisLayout layout = axis_layout(x.shape(), dim, "topk");
  const std::int64_t n = layout.size;
  RG_CHECK(k >= 0 && k <= n, "topk: k = ", k, " is out of range for dimension ", layout.dim, " of size ", n, " (input ",
           x.dtype(), " ", x.shape(), ")");
  // Rows along the last dim: move `dim` last (a dense copy when it is not).
  std::vector<std::int64_t> order;
  for (std::int64_t d = 0; d < x.dim(); ++d)
    if (d != layout.dim) order.push_back(d);
  order.push_back(layout.dim);
  const bool last = layout.inner == 1;
  const Tensor rows = raw::contiguous(last ? x : raw::permute(x, order));
  Shape rows_shape = rows.shape();
  rows_shape.back() = k;
  ValuesIndices out{Tensor::empty(rows_shape, x.dtype(), x.device()),
                    Tensor::empty(rows_shape, DType::i64, x.device())};
  visit_numeric(x.dtype(), "topk", [](auto) {});  // the dtype error first, on both devices
#if RECGRAD_WITH_CUDA
  if (x.device().is_cuda()) {
    cuda::topk_rows(rows, k, largest, out.values, out.indices);
  } else {
    topk_rows_cpu(rows, n, k, largest, out);
  }
#else
  topk_rows_cpu(rows, n, k, largest, out);
#endif
  if (last) return out;
  std::vector<std::int64_t> inverse(order.size());
  for (std::size_t i = 0; i < order.size(); ++i) inverse[order[i]] = static_cast<std::int64_t>(i);
  return {raw::contiguous(raw::permute(out.values, inverse)), raw::contiguous(raw::permute(out.indices, inverse))};
}

}  // namespace recgrad::raw
