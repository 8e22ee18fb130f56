#include <cub/device/device_radix_sort.cuh>

#include <cstdint>
#include <string>

#include "core/cuda/index.h"
#include "core/cuda/kernel_utils.cuh"
#include "core/cuda/runtime_check.h"

namespace recgrad::cuda {
namespace {

// ---------------------------------------------------------------------------------------------------------------
// Moving elements without looking at them: cat, index_select and gather only copy bytes, so their kernels
// are written for an unsigned "unit" of 1, 4, 8 or 16 bytes instead of each dtype (fewer instantiations,
// and contiguous rows move 16 bytes per load when their sizes and addresses allow it).

template <int kBytes>
struct UnitOf;
template <>
struct UnitOf<1> {
  using type = std::uint8_t;
};
template <>
struct UnitOf<4> {
  using type = std::uint32_t;
};
template <>
struct UnitOf<8> {
  using type = uint2;
};
template <>
struct UnitOf<16> {
  using type = uint4;
};

/// Calls fn(U{}) with U the unit type of `bytes` (1, 4, 8 or 16).
template <typename Fn>
void visit_unit(std::size_t bytes, Fn&& fn) {
  switch (bytes) {
    case 1:
      return fn(typename UnitOf<1>::type{});
    case 4:
      return fn(typename UnitOf<4>::type{});
    case 8:
      return fn(typename UnitOf<8>::type{});
    case 16:
      return fn(typename UnitOf<16>::type{});
    default:
      throw Error(detail::concat("CUDA index kernels: no copy unit of ", bytes, " bytes"));
  }
}

/// The widest unit (16, 8 or 4 bytes, else the element size) that divides every byte count in `sizes` and
/// the address of every pointer in `pointers`: rows of that many bytes can then be moved unit by unit.
std::size_t widest_unit(std::size_t element_bytes, std::initializer_list<std::size_t> sizes,
                        std::initializer_list<const void*> pointers) {
  for (std::size_t unit : {16, 8, 4}) {
    if (unit < element_bytes) break;
    bool fits = true;
    for (std::size_t s : sizes) fits = fits && s % unit == 0;
    for (const void* p : pointers) fits = fits && reinterpret_cast<std::uintptr_t>(p) % unit == 0;
    if (fits) return unit;
  }
  return element_bytes;
}

/// Extents of a shape seen as [outer, extent, inner] around dimension `dim` (a 0-d shape is [1, 1, 1]).
struct DimSplit {
  std::int64_t outer = 1, extent = 1, inner = 1;
};
DimSplit split_at(const Shape& shape, int dim) {
  DimSplit s;
  if (shape.empty()) return s;
  for (int d = 0; d < dim; ++d) s.outer *= shape[d];
  s.extent = shape[dim];
  for (std::size_t d = dim + 1; d < shape.size(); ++d) s.inner *= shape[d];
  return s;
}

/// "<op> (CUDA)", the name CUDA errors carry.
std::string cuda_op(const char* op) { return std::string(op) + " (CUDA)"; }

// ---------------------------------------------------------------------------------------------------------------
// Index validation.

/// Lowers *first_bad to the position of every index outside [0, bound). Integer atomicMin: the result is
/// the smallest bad position whatever the order of the threads; a valid index tensor costs no atomic.
template <typename I>
__global__ void first_invalid_index_kernel(const I* ids, std::int64_t n, std::int64_t bound,
                                           unsigned long long* first_bad) {
  for (std::int64_t i = grid_first(); i < n; i += grid_step()) {
    const std::int64_t v = ids[i];
    if (v < 0 || v >= bound) {
      atomicMin(first_bad, static_cast<unsigned long long>(i));
      return;  // this thread's later positions are larger
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// cat: one copy per input into its column block of the output.

/// Input element i (row-major) goes to out[(i / row) * out_row + column + i % row]: the input is
/// [outer, row] once flattened around the cat dim, the output [outer, out_row], and the input's block
/// starts `column` units into each output row. A contiguous input is read in order; a strided one through
/// its layout.
template <typename U, bool kContiguous>
__global__ void copy_into_slice_kernel(U* out, const U* in, std::int64_t numel, StridedLayout in_layout,
                                       std::int64_t row, std::int64_t out_row, std::int64_t column) {
  for (std::int64_t i = grid_first(); i < numel; i += grid_step()) {
    const std::int64_t from = kContiguous ? i : offset_of(i, in_layout);
    out[(i / row) * out_row + column + i % row] = in[from];
  }
}

// ---------------------------------------------------------------------------------------------------------------
// index_select.

/// Row r = (b, i) of out [outer, count, row_units] is row (b, ids[i]) of the dense x [outer, extent, row_units].
template <typename U, typename I>
__global__ void select_rows_kernel(U* out, const U* x, const I* ids, std::int64_t total_units, std::int64_t row_units,
                                   std::int64_t count, std::int64_t extent) {
  for (std::int64_t u = grid_first(); u < total_units; u += grid_step()) {
    const std::int64_t r = u / row_units, c = u % row_units;
    const std::int64_t b = r / count, i = r % count;
    out[u] = x[(b * extent + static_cast<std::int64_t>(ids[i])) * row_units + c];
  }
}

/// Offset of element n (row-major) of a view with `layout`, with coordinate `dim` replaced by ids[coordinate].
template <typename I>
__device__ __forceinline__ std::int64_t selected_offset(std::int64_t n, const StridedLayout& layout, int dim,
                                                        const I* ids) {
  std::int64_t offset = 0;
  for (int d = layout.rank - 1; d >= 0; --d) {
    const std::int64_t size = layout.sizes[d];
    std::int64_t coordinate = n % size;
    n /= size;
    if (d == dim) coordinate = static_cast<std::int64_t>(ids[coordinate]);
    offset += coordinate * layout.strides[d];
  }
  return offset;
}

/// out[n] = x[element n of out's shape with coordinate `dim` replaced by ids[it]] for a strided x
/// (`x_layout` has out's sizes and x's strides).
template <typename U, typename I>
__global__ void select_strided_kernel(U* out, const U* x, const I* ids, std::int64_t numel, StridedLayout x_layout,
                                      int dim) {
  for (std::int64_t n = grid_first(); n < numel; n += grid_step()) {
    out[n] = x[selected_offset(n, x_layout, dim, ids)];
  }
}

// ---------------------------------------------------------------------------------------------------------------
// gather.

/// out[n] = x[offset_of(n, x_layout) + ids[n] * dim_stride] where x_layout has the index's sizes and x's
/// strides with the gathered dimension's stride set to 0 (the index supplies that coordinate).
template <typename U, typename I>
__global__ void gather_kernel(U* out, const U* x, const I* ids, std::int64_t numel, StridedLayout x_layout,
                              std::int64_t dim_stride) {
  for (std::int64_t n = grid_first(); n < numel; n += grid_step()) {
    out[n] = x[offset_of(n, x_layout) + static_cast<std::int64_t>(ids[n]) * dim_stride];
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Deterministic adds (index_add_, scatter_add_): sort the index positions by target, then sum each run.

/// keys[n] = column(n) * bound + ids[n] and positions[n] = n for the dense index seen as [outer, extent,
/// inner] around the indexed dim, column(n) being n's flat position with that dim left out. Sorting by
/// key groups the positions that add into one target, and a stable sort keeps them in position order.
template <typename I>
__global__ void make_sort_keys_kernel(const I* ids, std::int64_t n, std::int64_t extent, std::int64_t inner,
                                      std::int64_t bound, std::uint64_t* keys, std::int64_t* positions) {
  for (std::int64_t i = grid_first(); i < n; i += grid_step()) {
    const std::int64_t column = (i / (extent * inner)) * inner + i % inner;
    keys[i] = static_cast<std::uint64_t>(column * bound + static_cast<std::int64_t>(ids[i]));
    positions[i] = i;
  }
}

/// Index positions sorted by target: `keys` ascending, `positions` the index positions in that order
/// (equal keys in increasing position order).
struct SortedPositions {
  Tensor keys;       // u64 data in an i64 tensor
  Tensor positions;  // i64
};

/// Sorts the positions of the dense `index` (seen as [outer, extent, inner] around the indexed dim, values
/// in [0, bound)) by key column * bound + value with CUB's stable radix sort, over only the key bits in use.
SortedPositions sort_positions(const Tensor& index, std::int64_t extent, std::int64_t inner, std::int64_t bound,
                               const std::string& op) {
  const std::int64_t n = index.numel();
  const Device device = index.device();
  const std::int64_t columns = n / std::max<std::int64_t>(extent, 1);
  RG_CHECK(bound == 0 || columns <= (std::int64_t{1} << 62) / bound, op, ": ", columns, " index columns of ", bound,
           " targets are too many to sort");
  const auto max_key = static_cast<std::uint64_t>(std::max<std::int64_t>(columns * bound - 1, 1));
  int end_bit = 0;
  while (end_bit < 64 && (max_key >> end_bit) != 0) ++end_bit;

  Tensor keys_in = Tensor::empty({n}, DType::i64, device), positions_in = Tensor::empty({n}, DType::i64, device);
  SortedPositions sorted{Tensor::empty({n}, DType::i64, device), Tensor::empty({n}, DType::i64, device)};
  auto* keys = static_cast<std::uint64_t*>(keys_in.device_pointer());
  auto* positions = static_cast<std::int64_t*>(positions_in.device_pointer());
  auto* sorted_keys = static_cast<std::uint64_t*>(sorted.keys.device_pointer());
  auto* sorted_positions = static_cast<std::int64_t*>(sorted.positions.device_pointer());
  visit_index(index.dtype(), op, [&]<typename I>(I) {
    make_sort_keys_kernel<I><<<grid_for(n), kThreads, 0, stream()>>>(static_cast<const I*>(index.device_pointer()), n,
                                                                     extent, inner, bound, keys, positions);
    RG_CUDA_CHECK_LAUNCH(op);
  });
  std::size_t temp_bytes = 0;
  RG_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, temp_bytes, keys, sorted_keys, positions, sorted_positions, n,
                                                0, end_bit, stream()),
                op);
  const Tensor temp =
      Tensor::empty({static_cast<std::int64_t>(std::max<std::size_t>(temp_bytes, 1))}, DType::u8, device);
  RG_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(temp.device_pointer(), temp_bytes, keys, sorted_keys, positions,
                                                sorted_positions, n, 0, end_bit, stream()),
                op);
  return sorted;
}

/// Columns one warp of index_add_ covers per task: kColumnsPerLane per lane, the lanes side by side.
constexpr int kColumnsPerLane = 4;
constexpr std::int64_t kTileColumns = kWarpSize * kColumnsPerLane;

/// One warp per task (run j of equal keys, outer slice b, tile of kTileColumns columns): a task whose
/// sorted position j starts a run sums the src rows of the run, in sorted (= position) order, onto
/// dst row (b, key); other tasks return at once. dst is [outer, extent, inner], src [outer, count, inner].
/// Every branch depends only on the task, so whole warps take it and the warp intrinsics see all lanes.
template <typename T>
__global__ void index_add_runs_kernel(T* dst, const T* src, const std::uint64_t* sorted_keys,
                                      const std::int64_t* sorted_positions, std::int64_t count, std::int64_t outer,
                                      std::int64_t extent, std::int64_t inner, std::int64_t tiles, std::int64_t skip) {
  constexpr unsigned kAllLanes = 0xffffffffu;
  const int lane = static_cast<int>(threadIdx.x % kWarpSize);
  const std::int64_t tasks = count * outer * tiles;
  for (std::int64_t task = grid_first() / kWarpSize; task < tasks; task += grid_step() / kWarpSize) {
    const std::int64_t j = task % count;
    const std::int64_t tile = (task / count) % tiles, b = task / (count * tiles);
    const std::uint64_t key = sorted_keys[j];
    if (j > 0 && sorted_keys[j - 1] == key) continue;  // not the start of a run
    const auto target = static_cast<std::int64_t>(key);
    if (target == skip) continue;
    // The run ends at the first sorted position with another key: 32 keys looked at per step.
    std::int64_t end = j + 1;
    for (;;) {
      const std::int64_t r = end + lane;
      const unsigned differs = __ballot_sync(kAllLanes, r >= count || sorted_keys[r] != key);
      if (differs != 0) {
        end += __ffs(differs) - 1;
        break;
      }
      end += kWarpSize;
    }
    T* out_row = dst + (b * extent + target) * inner;
    const std::int64_t first_column = tile * kTileColumns + lane;
    T sum[kColumnsPerLane];
#pragma unroll
    for (int q = 0; q < kColumnsPerLane; ++q) {
      const std::int64_t c = first_column + q * kWarpSize;
      sum[q] = c < inner ? out_row[c] : T(0);
    }
    // Rows in batches of 32: each lane reads one position, the warp then walks them in order. The adds
    // stay in position order; unrolling only lets the loads of the next rows start early.
    for (std::int64_t batch = j; batch < end; batch += kWarpSize) {
      const int rows = static_cast<int>(min(static_cast<std::int64_t>(kWarpSize), end - batch));
      const std::int64_t my_position = lane < rows ? sorted_positions[batch + lane] : 0;
#pragma unroll 4
      for (int q = 0; q < rows; ++q) {
        const std::int64_t position = __shfl_sync(kAllLanes, my_position, q);
        const T* in_row = src + (b * count + position) * inner;
#pragma unroll
        for (int p = 0; p < kColumnsPerLane; ++p) {
          const std::int64_t c = first_column + p * kWarpSize;
          if (c < inner) sum[p] += in_row[c];
        }
      }
    }
#pragma unroll
    for (int q = 0; q < kColumnsPerLane; ++q) {
      const std::int64_t c = first_column + q * kWarpSize;
      if (c < inner) out_row[c] = sum[q];
    }
  }
}

/// One thread per sorted position j; the one that starts a run of equal keys adds the src elements of the
/// run, in sorted (= row-major position) order, onto their common target in dst. Both layouts have the
/// index's sizes; dst_layout has the scattered dimension's stride set to 0 (the value supplies it).
template <typename T>
__global__ void scatter_add_runs_kernel(T* dst, const T* src, const std::uint64_t* sorted_keys,
                                        const std::int64_t* sorted_positions, std::int64_t n, std::int64_t bound,
                                        StridedLayout dst_layout, StridedLayout src_layout, std::int64_t dim_stride) {
  for (std::int64_t j = grid_first(); j < n; j += grid_step()) {
    const std::uint64_t key = sorted_keys[j];
    if (j > 0 && sorted_keys[j - 1] == key) continue;
    const auto value = static_cast<std::int64_t>(key % static_cast<std::uint64_t>(bound));
    T* target = dst + offset_of(sorted_positions[j], dst_layout) + value * dim_stride;
    T sum = *target;
    for (std::int64_t r = j; r < n && sorted_keys[r] == key; ++r)
      sum += src[offset_of(sorted_positions[r], src_layout)];
    *target = sum;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------

InvalidIndex first_invalid_index(const Tensor& index, std::int64_t bound, const char* op) {
  const std::int64_t n = index.numel();
  if (n == 0) return {};
  const std::string where = cuda_op(op);
  const DeviceGuard guard(index.device().index, where.c_str());
  const Tensor flag = Tensor::empty({1}, DType::i64, index.device());
  auto* first_bad = static_cast<unsigned long long*>(flag.device_pointer());
  // All bits set: "no bad position yet", larger than every position.
  RG_CUDA_CHECK(cudaMemsetAsync(first_bad, 0xff, sizeof(unsigned long long), stream()), where);
  unsigned long long host_first_bad = 0;
  InvalidIndex bad;
  visit_index(index.dtype(), op, [&]<typename I>(I) {
    const I* ids = static_cast<const I*>(index.device_pointer());
    first_invalid_index_kernel<I><<<grid_for(n), kThreads, 0, stream()>>>(ids, n, bound, first_bad);
    RG_CUDA_CHECK_LAUNCH(where);
    // The one synchronisation: the host must know before it returns or throws.
    RG_CUDA_CHECK(cudaMemcpyAsync(&host_first_bad, first_bad, sizeof host_first_bad, cudaMemcpyDeviceToHost, stream()),
                  where);
    RG_CUDA_CHECK(cudaStreamSynchronize(stream()), where);
    if (host_first_bad == ~0ull) return;
    I value{};
    RG_CUDA_CHECK(cudaMemcpyAsync(&value, ids + host_first_bad, sizeof value, cudaMemcpyDeviceToHost, stream()), where);
    RG_CUDA_CHECK(cudaStreamSynchronize(stream()), where);
    bad.position = static_cast<std::int64_t>(host_first_bad);
    bad.value = static_cast<std::int64_t>(value);
  });
  return bad;
}

void cat_into(const Tensor& out, const std::vector<Tensor>& inputs, int dim) {
  const std::string where = cuda_op("cat");
  const DeviceGuard guard(out.device().index, where.c_str());
  const std::size_t element_bytes = element_size(out.dtype());
  const DimSplit out_split = split_at(out.shape(), dim);
  const std::int64_t out_row = out_split.extent * out_split.inner;  // elements per output row
  std::int64_t start = 0;                                           // of the input's block along dim
  for (const Tensor& t : inputs) {
    const std::int64_t extent = t.shape()[dim], numel = t.numel();
    const std::int64_t row = extent * out_split.inner, column = start * out_split.inner;
    start += extent;
    if (numel == 0) continue;
    char* out_base = static_cast<char*>(out.device_pointer());
    if (t.is_contiguous() && out_split.outer == 1) {  // one dense block: a plain device copy
      RG_CUDA_CHECK(cudaMemcpyAsync(out_base + column * element_bytes, t.device_pointer(), numel * element_bytes,
                                    cudaMemcpyDeviceToDevice, stream()),
                    where);
      continue;
    }
    const unsigned blocks = grid_for(numel);
    if (t.is_contiguous()) {
      // Rows of `row` elements: move them in the widest unit their sizes and addresses allow.
      const std::size_t unit =
          widest_unit(element_bytes, {row * element_bytes, out_row * element_bytes, column * element_bytes},
                      {out_base, t.device_pointer()});
      const auto scale = static_cast<std::int64_t>(unit / element_bytes);
      visit_unit(unit, [&]<typename U>(U) {
        copy_into_slice_kernel<U, true><<<grid_for(numel / scale), kThreads, 0, stream()>>>(
            static_cast<U*>(out.device_pointer()), static_cast<const U*>(t.device_pointer()), numel / scale, {},
            row / scale, out_row / scale, column / scale);
      });
    } else {
      const StridedLayout layout = layout_of(t, "cat");
      visit_unit(element_bytes, [&]<typename U>(U) {
        copy_into_slice_kernel<U, false><<<blocks, kThreads, 0, stream()>>>(static_cast<U*>(out.device_pointer()),
                                                                            static_cast<const U*>(t.device_pointer()),
                                                                            numel, layout, row, out_row, column);
      });
    }
    RG_CUDA_CHECK_LAUNCH(where);
  }
}

Tensor index_select(const Tensor& x, int dim, const Tensor& index, const char* op) {
  const std::string where = cuda_op(op);
  const DeviceGuard guard(x.device().index, where.c_str());
  const std::int64_t count = index.numel();
  Shape out_shape = x.shape();
  out_shape[dim] = count;
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
  const std::int64_t numel = out.numel();
  if (numel == 0) return out;
  const std::size_t element_bytes = element_size(x.dtype());
  const DimSplit s = split_at(x.shape(), dim);
  visit_index(index.dtype(), op, [&]<typename I>(I) {
    const I* ids = static_cast<const I*>(index.device_pointer());
    if (x.is_contiguous()) {
      // Whole rows of `inner` elements move together.
      const std::size_t unit =
          widest_unit(element_bytes, {s.inner * element_bytes}, {x.device_pointer(), out.device_pointer()});
      const auto row_units = static_cast<std::int64_t>(s.inner * element_bytes / unit);
      const std::int64_t total_units = s.outer * count * row_units;
      visit_unit(unit, [&]<typename U>(U) {
        select_rows_kernel<U, I><<<grid_for(total_units), kThreads, 0, stream()>>>(
            static_cast<U*>(out.device_pointer()), static_cast<const U*>(x.device_pointer()), ids, total_units,
            row_units, count, s.extent);
      });
    } else {
      StridedLayout layout = layout_of(x, op);
      layout.sizes[dim] = count;  // walk out's shape; the index supplies x's coordinate along dim
      visit_unit(element_bytes, [&]<typename U>(U) {
        select_strided_kernel<U, I><<<grid_for(numel), kThreads, 0, stream()>>>(
            static_cast<U*>(out.device_pointer()), static_cast<const U*>(x.device_pointer()), ids, numel, layout, dim);
      });
    }
    RG_CUDA_CHECK_LAUNCH(where);
  });
  return out;
}

void index_add_(const Tensor& dst, int dim, const Tensor& index, const Tensor& src, std::int64_t skip, const char* op) {
  const std::string where = cuda_op(op);
  const std::int64_t count = index.numel();
  const DimSplit s = split_at(dst.shape(), dim);
  if (count == 0 || s.outer == 0 || s.inner == 0) return;
  const DeviceGuard guard(dst.device().index, where.c_str());
  const SortedPositions sorted = sort_positions(index, count, 1, s.extent, where);
  const std::int64_t tiles = (s.inner + kTileColumns - 1) / kTileColumns;
  const unsigned blocks = grid_for(count * s.outer * tiles * kWarpSize);
  visit_numeric(dst.dtype(), op, [&]<typename T>(T) {
    index_add_runs_kernel<T><<<blocks, kThreads, 0, stream()>>>(
        static_cast<T*>(dst.device_pointer()), static_cast<const T*>(src.device_pointer()),
        static_cast<const std::uint64_t*>(sorted.keys.device_pointer()),
        static_cast<const std::int64_t*>(sorted.positions.device_pointer()), count, s.outer, s.extent, s.inner, tiles,
        skip);
    RG_CUDA_CHECK_LAUNCH(where);
  });
}

Tensor gather(const Tensor& x, int dim, const Tensor& index) {
  const std::string where = cuda_op("gather");
  const DeviceGuard guard(x.device().index, where.c_str());
  Tensor out = Tensor::empty(index.shape(), x.dtype(), x.device());
  const std::int64_t numel = out.numel();
  if (numel == 0) return out;
  StridedLayout layout = layout_of(x, "gather");
  for (int d = 0; d < layout.rank; ++d) layout.sizes[d] = index.shape()[d];
  const std::int64_t dim_stride = layout.strides[dim];
  layout.strides[dim] = 0;
  visit_index(index.dtype(), "gather", [&]<typename I>(I) {
    visit_unit(element_size(x.dtype()), [&]<typename U>(U) {
      gather_kernel<U, I><<<grid_for(numel), kThreads, 0, stream()>>>(
          static_cast<U*>(out.device_pointer()), static_cast<const U*>(x.device_pointer()),
          static_cast<const I*>(index.device_pointer()), numel, layout, dim_stride);
    });
    RG_CUDA_CHECK_LAUNCH(where);
  });
  return out;
}

void scatter_add_(const Tensor& dst, int dim, const Tensor& index, const Tensor& src) {
  const std::string where = cuda_op("scatter_add");
  const std::int64_t n = index.numel();
  if (n == 0) return;
  const DeviceGuard guard(dst.device().index, where.c_str());
  const std::int64_t bound = dst.dim() == 0 ? 1 : dst.shape()[dim];
  const DimSplit index_split = split_at(index.shape(), dim);
  const SortedPositions sorted = sort_positions(index, index_split.extent, index_split.inner, bound, where);
  // Both layouts walk the index's shape; the scattered coordinate of dst comes from the index value.
  StridedLayout dst_layout = layout_of(dst, "scatter_add"), src_layout = layout_of(src, "scatter_add");
  for (int d = 0; d < dst_layout.rank; ++d) dst_layout.sizes[d] = src_layout.sizes[d] = index.shape()[d];
  const std::int64_t dim_stride = dst.dim() == 0 ? 0 : dst_layout.strides[dim];
  if (dst.dim() > 0) dst_layout.strides[dim] = 0;
  visit_numeric(dst.dtype(), "scatter_add", [&]<typename T>(T) {
    scatter_add_runs_kernel<T><<<grid_for(n), kThreads, 0, stream()>>>(
        static_cast<T*>(dst.device_pointer()), static_cast<const T*>(src.device_pointer()),
        static_cast<const std::uint64_t*>(sorted.keys.device_pointer()),
        static_cast<const std::int64_t*>(sorted.positions.device_pointer()), n, bound, dst_layout, src_layout,
        dim_stride);
    RG_CUDA_CHECK_LAUNCH(where);
  });
}

}  // namespace recgrad::cuda
