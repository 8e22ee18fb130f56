#include <cub/block/block_scan.cuh>
#include <cub/device/device_segmented_radix_sort.cuh>

#include <climits>
#include <cstdint>
#include <type_traits>

#include "core/cuda/kernel_utils.cuh"
#include "core/cuda/runtime_check.h"
#include "core/cuda/topk.h"

namespace recgrad::cuda {
namespace {

// How a row is searched. Each value becomes an unsigned "rank key": a larger key ranks before a smaller
// one, whatever the dtype and direction, so one radix select serves all of them. Ties between equal keys
// are broken by the lower index, as on the CPU.
//
// 1. Radix select, one 8-bit digit at a time from the top: a shared histogram of the digit over the keys
//    that still match the digits fixed so far tells in which bin the k-th best key lies. After the last
//    digit (or as soon as that bin holds exactly the keys still needed) the winners are: every key above
//    the fixed prefix, and the first `remaining` (by index) of the keys equal to it.
// 2. Compaction: the row is walked again in index order, a block scan numbering the winners, which are
//    written (key, index) to consecutive slots in index order.
// 3. Sort by (key descending, index ascending): a bitonic network in shared memory when k <= 1024;
//    otherwise CUB's segmented radix sort, which is stable, so equal keys keep the index order of step 2.

constexpr int kTopkThreads = 512;
constexpr int kDigitBits = 8;
constexpr int kBins = 1 << kDigitBits;
/// Largest k sorted in shared memory by the select kernel itself.
constexpr int kSharedSortMax = 1024;

/// The rank key type: 32 bits for f32 and i32, 64 bits for f64 and i64.
template <typename T>
using KeyOf = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;

/// The rank key of v: the key order is the order of the values (largest) or its reverse (smallest), NaN
/// above every number (below, for smallest, as ~ flips it), -0 equal to +0. Floats map to their bit
/// patterns with the sign bit flipped (positive) or all bits flipped (negative); integers with the sign
/// bit flipped.
template <typename T>
__device__ __forceinline__ KeyOf<T> rank_key(T v, bool largest) {
  using K = KeyOf<T>;
  constexpr K kSign = K(1) << (sizeof(K) * 8 - 1);
  K key;
  if constexpr (std::is_floating_point_v<T>) {
    if (v != v) {
      key = ~K(0);  // every NaN the same, above +inf
    } else {
      const T canonical = v == T(0) ? T(0) : v;  // -0 -> +0
      K bits;
      if constexpr (sizeof(T) == 4) {
        bits = __float_as_uint(canonical);
      } else {
        bits = static_cast<K>(__double_as_longlong(canonical));
      }
      key = (bits & kSign) ? ~bits : (bits | kSign);
    }
  } else {
    key = static_cast<K>(v) ^ kSign;
  }
  return largest ? key : ~key;
}

/// True when (key_a, index_a) comes before (key_b, index_b): larger key first, then lower index.
template <typename K>
__device__ __forceinline__ bool ranks_before(K key_a, std::int64_t index_a, K key_b, std::int64_t index_b) {
  return key_a != key_b ? key_a > key_b : index_a < index_b;
}

/// Sorts the P (a power of two, at most kSharedSortMax) entries of keys/indices in shared memory by
/// ranks_before with a bitonic network; the whole block takes part.
template <typename K>
__device__ void bitonic_sort(K* keys, std::int64_t* indices, int P) {
  for (int size = 2; size <= P; size <<= 1) {
    for (int stride = size / 2; stride > 0; stride >>= 1) {
      for (int t = threadIdx.x; t < P / 2; t += blockDim.x) {
        const int i = 2 * stride * (t / stride) + t % stride, j = i + stride;
        const bool ascending = (i & size) == 0;  // this pair's half of the bitonic sequence: best first?
        if (ranks_before(keys[j], indices[j], keys[i], indices[i]) == ascending) {
          const K key = keys[i];
          keys[i] = keys[j];
          keys[j] = key;
          const std::int64_t index = indices[i];
          indices[i] = indices[j];
          indices[j] = index;
        }
      }
      __syncthreads();
    }
  }
}

/// One block per row of data [rows, n]. kSharedSort: k <= kSharedSortMax; the block sorts its winners
/// and writes values/indices [rows, k]. Otherwise the winners go, in index order, to
/// winner_keys/winner_indices [rows, k] for the segmented sort.
template <typename T, bool kSharedSort>
__global__ void __launch_bounds__(kTopkThreads)
    topk_select_kernel(const T* data, int n, int k, bool largest, T* values, std::int64_t* indices,
                       KeyOf<T>* winner_keys, std::int64_t* winner_indices) {
  using K = KeyOf<T>;
  using Scan = cub::BlockScan<unsigned long long, kTopkThreads>;
  __shared__ typename Scan::TempStorage scan_storage;
  __shared__ int histogram[kBins];
  __shared__ K sort_keys[kSharedSort ? kSharedSortMax : 1];
  __shared__ std::int64_t sort_indices[kSharedSort ? kSharedSortMax : 1];

  const T* row = data + static_cast<std::int64_t>(blockIdx.x) * n;
  const int lane = threadIdx.x % kWarpSize;

  // 1. Radix select. Every thread keeps the same copy of prefix/mask/remaining.
  K prefix = 0, mask = 0;  // the digits fixed so far, and which bits they are
  int remaining = k;       // winners still to find among the keys matching the prefix
  for (int shift = static_cast<int>(sizeof(K)) * 8 - kDigitBits; shift >= 0; shift -= kDigitBits) {
    for (int b = threadIdx.x; b < kBins; b += blockDim.x) histogram[b] = 0;
    __syncthreads();
    for (int base = 0; base < n; base += blockDim.x) {  // uniform trip count: whole warps reach the match
      const int j = base + threadIdx.x;
      int bin = -1;
      if (j < n) {
        const K key = rank_key(row[j], largest);
        if ((key & mask) == prefix) bin = static_cast<int>((key >> shift) & (kBins - 1));
      }
      // Lanes with the same bin add together: one shared atomic per distinct bin and warp.
      const unsigned peers = __match_any_sync(0xffffffffu, bin);
      if (bin >= 0 && lane == __ffs(peers) - 1) atomicAdd(&histogram[bin], __popc(peers));
    }
    __syncthreads();
    int digit = kBins - 1, above = 0;  // keys in the bins above `digit`
    for (; digit > 0; --digit) {
      const int in_digit = histogram[digit];
      if (above + in_digit >= remaining) break;
      above += in_digit;
    }
    const int in_bin = histogram[digit];
    remaining -= above;
    prefix |= static_cast<K>(digit) << shift;
    mask |= static_cast<K>(kBins - 1) << shift;
    __syncthreads();                 // all threads have read the histogram before it is cleared again
    if (in_bin == remaining) break;  // the whole bin is needed: no need to narrow it down
  }

  // 2. Compaction in index order. The scanned value counts winners above the prefix in its high 32 bits
  // and keys equal to it in its low 32 bits.
  const int above_total = k - remaining;
  int above_before_chunk = 0, equal_before_chunk = 0;
  for (int base = 0; base < n; base += blockDim.x) {
    const int j = base + threadIdx.x;
    K key = 0;
    bool above = false, equal = false;
    if (j < n) {
      key = rank_key(row[j], largest);
      above = (key & mask) > prefix;
      equal = (key & mask) == prefix;
    }
    const unsigned long long flags = (above ? (1ull << 32) : 0ull) | (equal ? 1ull : 0ull);
    unsigned long long before = 0, chunk_total = 0;
    Scan(scan_storage).ExclusiveSum(flags, before, chunk_total);
    __syncthreads();  // scan_storage is reused by the next chunk
    const int above_before = above_before_chunk + static_cast<int>(before >> 32);
    const int equal_before = equal_before_chunk + static_cast<int>(before & 0xffffffffull);
    if (above || (equal && equal_before < remaining)) {
      const int slot = above_before + min(equal_before, remaining);  // winners before this one
      if constexpr (kSharedSort) {
        sort_keys[slot] = key;
        sort_indices[slot] = j;
      } else {
        const std::int64_t out = static_cast<std::int64_t>(blockIdx.x) * k + slot;
        winner_keys[out] = key;
        winner_indices[out] = j;
      }
    }
    above_before_chunk += static_cast<int>(chunk_total >> 32);
    equal_before_chunk += static_cast<int>(chunk_total & 0xffffffffull);
    if (above_before_chunk == above_total && equal_before_chunk >= remaining) break;  // all k found
  }

  // 3. Sort in shared memory and write out.
  if constexpr (kSharedSort) {
    int P = 1;
    while (P < k) P <<= 1;
    for (int t = k + threadIdx.x; t < P; t += blockDim.x) {  // padding ranks after every real entry
      sort_keys[t] = 0;
      sort_indices[t] = LLONG_MAX;
    }
    __syncthreads();
    bitonic_sort(sort_keys, sort_indices, P);
    const std::int64_t out = static_cast<std::int64_t>(blockIdx.x) * k;
    for (int t = threadIdx.x; t < k; t += blockDim.x) {
      values[out + t] = row[sort_indices[t]];
      indices[out + t] = sort_indices[t];
    }
  }
}

/// offsets[r] = r * k for r in [0, rows]: the segment bounds of the [rows, k] winners.
__global__ void segment_offsets_kernel(int* offsets, int rows, int k) {
  for (std::int64_t r = grid_first(); r <= rows; r += grid_step()) offsets[r] = static_cast<int>(r * k);
}

/// values[i] = data[row i / k][sorted_indices[i]], indices[i] = sorted_indices[i].
template <typename T>
__global__ void topk_gather_kernel(const T* data, std::int64_t n, int k, std::int64_t total,
                                   const std::int64_t* sorted_indices, T* values, std::int64_t* indices) {
  for (std::int64_t i = grid_first(); i < total; i += grid_step()) {
    const std::int64_t index = sorted_indices[i];
    values[i] = data[(i / k) * n + index];
    indices[i] = index;
  }
}

}  // namespace

void topk_rows(const Tensor& rows, std::int64_t k, bool largest, const Tensor& values, const Tensor& indices) {
  const std::int64_t n = rows.dim() == 0 ? 1 : rows.shape().back();
  const std::int64_t count = n == 0 ? 0 : rows.numel() / n;
  if (k == 0 || count == 0) return;
  RG_CHECK(n <= INT_MAX && count <= INT_MAX, "topk: CUDA rows are limited to 2^31 - 1 elements and 2^31 - 1 rows, got ",
           count, " rows of ", n);
  const DeviceGuard guard(rows.device().index, "topk (CUDA)");
  const auto blocks = static_cast<unsigned>(count);
  visit_numeric(rows.dtype(), "topk", [&]<typename T>(T) {
    using K = KeyOf<T>;
    const T* data = static_cast<const T*>(rows.device_pointer());
    T* out_values = static_cast<T*>(values.device_pointer());
    auto* out_indices = static_cast<std::int64_t*>(indices.device_pointer());
    if (k <= kSharedSortMax) {
      topk_select_kernel<T, true><<<blocks, kTopkThreads, 0, stream()>>>(
          data, static_cast<int>(n), static_cast<int>(k), largest, out_values, out_indices, nullptr, nullptr);
      RG_CUDA_CHECK_LAUNCH("topk (CUDA select)");
      return;
    }
    const std::int64_t total = count * k;
    RG_CHECK(total <= INT_MAX, "topk: CUDA selects at most 2^31 - 1 elements with k > ", kSharedSortMax, ", got ",
             count, " rows of k = ", k);
    const Device device = rows.device();
    const Tensor winner_keys = Tensor::empty({total}, DType::i64, device);  // K-sized entries fit in 8 bytes
    const Tensor sorted_keys = Tensor::empty({total}, DType::i64, device);
    const Tensor winner_indices = Tensor::empty({total}, DType::i64, device);
    const Tensor sorted_indices = Tensor::empty({total}, DType::i64, device);
    const Tensor offsets = Tensor::empty({count + 1}, DType::i32, device);
    auto* keys_in = static_cast<K*>(winner_keys.device_pointer());
    auto* keys_out = static_cast<K*>(sorted_keys.device_pointer());
    auto* indices_in = static_cast<std::int64_t*>(winner_indices.device_pointer());
    auto* indices_out = static_cast<std::int64_t*>(sorted_indices.device_pointer());
    auto* segment_offsets = static_cast<int*>(offsets.device_pointer());
    topk_select_kernel<T, false><<<blocks, kTopkThreads, 0, stream()>>>(data, static_cast<int>(n), static_cast<int>(k),
                                                                        largest, nullptr, nullptr, keys_in, indices_in);
    RG_CUDA_CHECK_LAUNCH("topk (CUDA select)");
    segment_offsets_kernel<<<grid_for(count + 1), kThreads, 0, stream()>>>(segment_offsets, static_cast<int>(count),
                                                                           static_cast<int>(k));
    RG_CUDA_CHECK_LAUNCH("topk (CUDA offsets)");
    std::size_t temp_bytes = 0;
    RG_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairsDescending(
                      nullptr, temp_bytes, keys_in, keys_out, indices_in, indices_out, static_cast<int>(total),
                      static_cast<int>(count), segment_offsets, segment_offsets + 1, 0, int(sizeof(K) * 8), stream()),
                  "topk (CUDA sort)");
    const Tensor temp =
        Tensor::empty({static_cast<std::int64_t>(std::max<std::size_t>(temp_bytes, 1))}, DType::u8, device);
    RG_CUDA_CHECK(
        cub::DeviceSegmentedRadixSort::SortPairsDescending(
            temp.device_pointer(), temp_bytes, keys_in, keys_out, indices_in, indices_out, static_cast<int>(total),
            static_cast<int>(count), segment_offsets, segment_offsets + 1, 0, int(sizeof(K) * 8), stream()),
        "topk (CUDA sort)");
    topk_gather_kernel<T><<<grid_for(total), kThreads, 0, stream()>>>(data, n, static_cast<int>(k), total, indices_out,
                                                                      out_values, out_indices);
    RG_CUDA_CHECK_LAUNCH("topk (CUDA gather)");
  });
}

}  // namespace recgrad::cuda
