// Reductions on CUDA: one kernel family reduces "output o combines the elements r = 0 .. inner-1" for any
// set of reduced dims of any strided view, and each reduction (sum, max, norm, ...) is a small Op struct
// that says how to load, combine and store values. Two launch shapes cover the layouts:
//   rows:    the reduced elements of one output are (nearly) neighbours in memory (e.g. sum over the last
//            dim): a warp per output (a block for long rows), neighbouring threads read neighbouring elements;
//   columns: neighbouring outputs are neighbours in memory (e.g. sum over dim 0 of [rows, cols]): each
//            thread walks the reduced elements of one output, and the 32 threads of a warp read 32
//            neighbouring outputs' elements at once.
// When there are too few outputs to fill the GPU, the reduced elements are split into chunks; each
// (output, chunk) writes a partial value and a second kernel combines them. Every combine follows a fixed
// tree, and the split depends only on the shape, so results are deterministic (bit-identical run to run).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <limits>
#include <type_traits>

#include "core/cuda/copy.h"
#include "core/cuda/kernel_utils.cuh"
#include "core/cuda/reduce.h"
#include "core/cuda/runtime_check.h"
#include "core/plans/view.h"

namespace recgrad::cuda {
namespace {

// ---------------------------------------------------------------------------------------------------------
// Geometry

/// Element r (0 <= r < inner) of output o (0 <= o < outer) sits at offset_in(o, kept) + offset_in(r, reduced)
/// elements from the input's first element.
struct ReduceGeometry {
  StridedLayout kept;     // the kept dims, in output (row-major) order
  StridedLayout reduced;  // the reduced dims
  std::int64_t outer = 1;
  std::int64_t inner = 1;
};

/// offset_of, with the common one-dimensional layout (a single stride) computed without divisions.
__device__ __forceinline__ std::int64_t offset_in(std::int64_t i, const StridedLayout& layout) {
  if (layout.rank == 1) return i * layout.strides[0];
  return offset_of(i, layout);
}

struct Dim {
  std::int64_t size;
  std::int64_t stride;
};

/// The layout of `dims` with extent-1 dims dropped and neighbours that form one evenly strided run merged
/// (stride[d] == stride[d+1] * size[d+1]). The row-major numbering of the elements is unchanged; a dense
/// tensor becomes one dim of stride 1, so offset_in needs no division.
StridedLayout coalesced(const std::vector<Dim>& dims, std::string_view op) {
  std::vector<Dim> merged;
  for (const Dim& d : dims) {
    if (d.size == 1) continue;
    if (!merged.empty() && merged.back().stride == d.stride * d.size) {
      merged.back() = {merged.back().size * d.size, d.stride};
    } else {
      merged.push_back(d);
    }
  }
  RG_CHECK(merged.size() <= static_cast<std::size_t>(kMaxDims), op, ": CUDA kernels support up to ", kMaxDims,
           " dimensions");
  StridedLayout layout;
  layout.rank = static_cast<int>(merged.size());
  for (int d = 0; d < layout.rank; ++d) {
    layout.sizes[d] = merged[d].size;
    layout.strides[d] = merged[d].stride;
  }
  return layout;
}

/// The whole view `t` as one layout (for elementwise kernels).
StridedLayout coalesced_layout(const Tensor& t, std::string_view op) {
  std::vector<Dim> dims;
  for (std::int64_t d = 0; d < t.dim(); ++d) dims.push_back({t.shape()[d], t.strides()[d]});
  return coalesced(dims, op);
}

/// The geometry of reducing the dims marked in `reduced_dims`. Every reduction here is commutative, so the
/// reduced dims may be visited in any order: they are sorted by decreasing stride, which lets e.g. a
/// transposed view still be read in dense runs. (max_dim reduces one dim, so its indices are unaffected.)
ReduceGeometry geometry_of(const Tensor& input, const std::vector<bool>& reduced_dims, std::string_view op) {
  std::vector<Dim> kept, reduced;
  ReduceGeometry g;
  for (std::int64_t d = 0; d < input.dim(); ++d) {
    const Dim dim{input.shape()[d], input.strides()[d]};
    if (reduced_dims[static_cast<std::size_t>(d)]) {
      reduced.push_back(dim);
      g.inner *= dim.size;
    } else {
      kept.push_back(dim);
      g.outer *= dim.size;
    }
  }
  std::stable_sort(reduced.begin(), reduced.end(),
                   [](const Dim& a, const Dim& b) { return std::llabs(a.stride) > std::llabs(b.stride); });
  g.kept = coalesced(kept, op);
  g.reduced = coalesced(reduced, op);
  return g;
}

/// Throws unless every tensor in `others` lives on x's device (a kernel must never read another device's
/// memory).
void require_same_device(std::string_view op, const Tensor& x, std::initializer_list<const Tensor*> others) {
  for (const Tensor* t : others) {
    RG_CHECK(t->device() == x.device(), op, ": expected every tensor on ", x.device(), ", got one on ", t->device());
  }
}

template <typename T>
const T* input_pointer(const Tensor& t) {
  return static_cast<const T*>(t.device_pointer());
}
template <typename T>
T* output_pointer(const Tensor& t) {
  return static_cast<T*>(t.device_pointer());
}

/// The identity of a max: -inf for floating types, the lowest value for integers (host side).
template <typename T>
T lowest_value() {
  if constexpr (std::is_floating_point_v<T>) {
    return -std::numeric_limits<T>::infinity();
  } else {
    return std::numeric_limits<T>::lowest();
  }
}
/// The identity of a min: +inf for floating types, the largest value for integers (host side).
template <typename T>
T highest_value() {
  if constexpr (std::is_floating_point_v<T>) {
    return std::numeric_limits<T>::infinity();
  } else {
    return std::numeric_limits<T>::max();
  }
}

// ---------------------------------------------------------------------------------------------------------
// The reductions. Each Op has
//   using In (the element type read) and Acc (the accumulated value, trivially constructible);
//   Acc identity()                       the value of an empty reduction;
//   Acc load(In x, o, r)                 the value element r of output o contributes;
//   Acc combine(Acc a, Acc b)            associative and commutative (so any fixed tree gives one answer);
//   void store(o, Acc total)             writes the result of output o.

template <typename T>
__device__ __forceinline__ bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    return v != v;
  } else {
    return false;
  }
}

/// True when `v` should replace `best` as the maximum (kMax) or minimum: strictly more extreme, or a NaN
/// replacing a number (as in core/ops/reduce.cpp).
template <bool kMax, typename T>
__device__ __forceinline__ bool more_extreme(T v, T best) {
  if (is_nan(v)) return !is_nan(best);
  return kMax ? v > best : v < best;
}

/// Sums accumulate in the element type for floats and in i64 for integers.
template <typename T>
using SumAcc = std::conditional_t<std::is_floating_point_v<T>, T, std::int64_t>;

/// out[o] = sum of the elements.
template <typename T>
struct SumOp {
  using In = T;
  using Acc = SumAcc<T>;
  T* out;
  __device__ Acc identity() const { return Acc(0); }
  __device__ Acc load(T x, std::int64_t, std::int64_t) const { return static_cast<Acc>(x); }
  __device__ Acc combine(Acc a, Acc b) const { return a + b; }
  __device__ void store(std::int64_t o, Acc total) const { out[o] = static_cast<T>(total); }
};

/// out[o] = the largest (kMax) or smallest element; NaN wins.
template <typename T, bool kMax>
struct ExtremeOp {
  using In = T;
  using Acc = T;
  T start;  // lowest_value (max) or highest_value (min)
  T* out;
  __device__ T identity() const { return start; }
  __device__ T load(T x, std::int64_t, std::int64_t) const { return x; }
  __device__ T combine(T a, T b) const { return more_extreme<kMax>(b, a) ? b : a; }
  __device__ void store(std::int64_t o, T best) const { out[o] = best; }
};

template <typename T>
struct ValueIndex {
  T value;
  std::int64_t index;
};

/// values[o], indices[o] = the largest (kMax) or smallest element and its first index; NaN wins, and of
/// equal values the lower index wins, so the result does not depend on the combining order.
template <typename T, bool kMax>
struct ArgExtremeOp {
  using In = T;
  using Acc = ValueIndex<T>;
  T start;
  T* values;
  std::int64_t* indices;
  __device__ Acc identity() const { return {start, INT64_MAX}; }
  __device__ Acc load(T x, std::int64_t, std::int64_t r) const { return {x, r}; }
  __device__ Acc combine(Acc a, Acc b) const {
    if (more_extreme<kMax>(b.value, a.value)) return b;
    if (more_extreme<kMax>(a.value, b.value)) return a;
    return b.index < a.index ? b : a;  // equal values (or both NaN): the first occurrence
  }
  __device__ void store(std::int64_t o, Acc best) const {
    values[o] = best.value;
    indices[o] = best.index;
  }
};

/// mean[o] = sum / count (pass 1 of var).
template <typename T>
struct MeanOp {
  using In = T;
  using Acc = T;
  T count;
  T* mean;
  __device__ T identity() const { return T(0); }
  __device__ T load(T x, std::int64_t, std::int64_t) const { return x; }
  __device__ T combine(T a, T b) const { return a + b; }
  __device__ void store(std::int64_t o, T total) const { mean[o] = total / count; }
};

/// out[o] = sum((x - mean[o])^2) / denominator (pass 2 of var).
template <typename T>
struct SquaredDeviationOp {
  using In = T;
  using Acc = T;
  const T* mean;
  T denominator;
  T* out;
  __device__ T identity() const { return T(0); }
  __device__ T load(T x, std::int64_t o, std::int64_t) const {
    const T deviation = x - mean[o];
    return deviation * deviation;
  }
  __device__ T combine(T a, T b) const { return a + b; }
  __device__ void store(std::int64_t o, T total) const { out[o] = total / denominator; }
};

enum class NormKind { count_nonzero, one, two, max_abs, min_abs, general };

/// out[o] = the p-norm of the elements; `kind` picks the special cases of p (the branch is the same for
/// every thread of a launch).
template <typename T>
struct NormOp {
  using In = T;
  using Acc = T;
  NormKind kind;
  T p;
  T infinity;
  T* out;
  __device__ T identity() const { return kind == NormKind::min_abs ? infinity : T(0); }
  __device__ T load(T x, std::int64_t, std::int64_t) const {
    switch (kind) {
      case NormKind::count_nonzero:
        return x != T(0) ? T(1) : T(0);
      case NormKind::two:
        return x * x;
      case NormKind::general:
        return pow(fabs(x), p);
      default:  // one, max_abs, min_abs
        return fabs(x);
    }
  }
  __device__ T combine(T a, T b) const {
    if (kind == NormKind::max_abs) return more_extreme<true>(b, a) ? b : a;   // NaN wins
    if (kind == NormKind::min_abs) return more_extreme<false>(b, a) ? b : a;  // NaN wins
    return a + b;
  }
  __device__ void store(std::int64_t o, T total) const {
    if (kind == NormKind::two) {
      out[o] = sqrt(total);
    } else if (kind == NormKind::general) {
      out[o] = pow(total, T(1) / p);
    } else {
      out[o] = total;
    }
  }
};

/// top[o] = the largest element, NaN ignored (pass 1 of logsumexp; the CPU's comparison-based max).
template <typename T>
struct MaxIgnoringNanOp {
  using In = T;
  using Acc = T;
  T start;  // -inf
  T* top;
  __device__ T identity() const { return start; }
  __device__ T load(T x, std::int64_t, std::int64_t) const { return x; }
  __device__ T combine(T a, T b) const { return b > a ? b : a; }
  __device__ void store(std::int64_t o, T best) const { top[o] = best; }
};

/// out[o] = top[o] + log(sum(exp(x - top[o]))), or top[o] when it is infinite (all -inf, or a +inf)
/// (pass 2 of logsumexp). A NaN element makes the sum NaN.
template <typename T>
struct LogSumExpOp {
  using In = T;
  using Acc = T;
  const T* top;
  T* out;
  __device__ T identity() const { return T(0); }
  __device__ T load(T x, std::int64_t o, std::int64_t) const { return exp(x - top[o]); }
  __device__ T combine(T a, T b) const { return a + b; }
  __device__ void store(std::int64_t o, T total) const {
    const T m = top[o];
    out[o] = isinf(m) ? m : m + log(total);
  }
};

// ---------------------------------------------------------------------------------------------------------
// Combining across threads

template <typename V>
__device__ __forceinline__ V shuffle_xor(V value, int mask) {
  return __shfl_xor_sync(0xffffffffu, value, mask);
}
template <typename V>
__device__ __forceinline__ ValueIndex<V> shuffle_xor(ValueIndex<V> value, int mask) {
  return {shuffle_xor(value.value, mask), shuffle_xor(value.index, mask)};
}

/// Combines `value` over the 32 lanes of a warp with butterfly shuffles (every lane gets the result).
template <typename Op>
__device__ __forceinline__ typename Op::Acc warp_combine(const Op& op, typename Op::Acc value) {
  for (int mask = kWarpSize / 2; mask > 0; mask /= 2) value = op.combine(value, shuffle_xor(value, mask));
  return value;
}

/// Combines `value` over all threads of the block (blockDim.x a multiple of 32): each warp combines its
/// lanes, then every warp combines the per-warp values from shared memory; thread 0 has the result.
template <typename Op>
__device__ __forceinline__ typename Op::Acc block_combine(const Op& op, typename Op::Acc value,
                                                          typename Op::Acc* scratch) {
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  const int warps = blockDim.x / kWarpSize;
  value = warp_combine(op, value);
  __syncthreads();  // the previous item's readers are done with scratch
  if (lane == 0) scratch[warp] = value;
  __syncthreads();
  return warp_combine(op, lane < warps ? scratch[lane] : op.identity());
}

// ---------------------------------------------------------------------------------------------------------
// Kernels

/// Rows: a group of kGroup threads (a warp, or the whole block) per item (output o, split s). The group
/// walks the elements [s * chunk, min(inner, (s + 1) * chunk)) of output o with stride kGroup, so
/// neighbouring threads read neighbouring elements when the reduced dims are dense, then combines its
/// threads' values. With one split the result is stored; otherwise it goes to partials[o * splits + s].
template <int kGroup, typename Op>
__global__ void reduce_rows_kernel(Op op, const typename Op::In* input, ReduceGeometry g, std::int64_t splits,
                                   std::int64_t chunk, typename Op::Acc* partials) {
  using Acc = typename Op::Acc;
  __shared__ Acc scratch[kWarpSize];
  const int groups_per_block = blockDim.x / kGroup;
  const int lane = threadIdx.x % kGroup;
  const std::int64_t items = g.outer * splits;
  // The loop bounds are the same for every thread of a group, so the group's shuffles and barriers match.
  for (std::int64_t item = static_cast<std::int64_t>(blockIdx.x) * groups_per_block + threadIdx.x / kGroup;
       item < items; item += static_cast<std::int64_t>(gridDim.x) * groups_per_block) {
    const std::int64_t o = item / splits, s = item % splits;
    const std::int64_t end = min(g.inner, (s + 1) * chunk);
    const typename Op::In* row = input + offset_in(o, g.kept);
    Acc acc = op.identity();
#pragma unroll 4  // independent loads in flight; the combining order stays the same
    for (std::int64_t r = s * chunk + lane; r < end; r += kGroup) {
      acc = op.combine(acc, op.load(row[offset_in(r, g.reduced)], o, r));
    }
    if constexpr (kGroup == kWarpSize) {
      acc = warp_combine(op, acc);
    } else {
      acc = block_combine(op, acc, scratch);
    }
    if (lane == 0) {
      if (splits == 1) {
        op.store(o, acc);
      } else {
        partials[item] = acc;
      }
    }
  }
}

/// Columns: blockDim (32, rows) with rows a power of two; block (bx, s) serves the outputs
/// o = bx * 32 + threadIdx.x and split s. Thread (x, y) walks the split's elements from y with stride rows;
/// the 32 threads of a warp serve 32 neighbouring outputs, so their loads are coalesced when the innermost
/// kept dim is dense. The `rows` values of each output are then combined by a tree in shared memory.
template <typename Op>
__global__ void reduce_columns_kernel(Op op, const typename Op::In* input, ReduceGeometry g, std::int64_t splits,
                                      std::int64_t chunk, typename Op::Acc* partials) {
  using Acc = typename Op::Acc;
  __shared__ Acc scratch[kThreads];
  const std::int64_t o = static_cast<std::int64_t>(blockIdx.x) * kWarpSize + threadIdx.x;
  const std::int64_t s = blockIdx.y;
  Acc acc = op.identity();
  if (o < g.outer) {
    const typename Op::In* column = input + offset_in(o, g.kept);
    const std::int64_t end = min(g.inner, (s + 1) * chunk);
#pragma unroll 4
    for (std::int64_t r = s * chunk + threadIdx.y; r < end; r += blockDim.y) {
      acc = op.combine(acc, op.load(column[offset_in(r, g.reduced)], o, r));
    }
  }
  const int slot = threadIdx.y * kWarpSize + threadIdx.x;
  scratch[slot] = acc;
  __syncthreads();
  for (int half = blockDim.y / 2; half > 0; half /= 2) {
    if (threadIdx.y < half) scratch[slot] = op.combine(scratch[slot], scratch[slot + half * kWarpSize]);
    __syncthreads();
  }
  if (threadIdx.y == 0 && o < g.outer) {
    if (splits == 1) {
      op.store(o, scratch[slot]);
    } else {
      partials[o * splits + s] = scratch[slot];
    }
  }
}

/// One warp per output: combines partials[o * splits + 0 .. splits - 1] (lane l takes l, l + 32, ...) and
/// stores the result.
template <typename Op>
__global__ void finish_partials_kernel(Op op, const typename Op::Acc* partials, std::int64_t outer,
                                       std::int64_t splits) {
  const int lane = threadIdx.x % kWarpSize;
  const int warps_per_block = blockDim.x / kWarpSize;
  for (std::int64_t o = static_cast<std::int64_t>(blockIdx.x) * warps_per_block + threadIdx.x / kWarpSize; o < outer;
       o += static_cast<std::int64_t>(gridDim.x) * warps_per_block) {
    typename Op::Acc acc = op.identity();
    for (std::int64_t s = lane; s < splits; s += kWarpSize) acc = op.combine(acc, partials[o * splits + s]);
    acc = warp_combine(op, acc);
    if (lane == 0) op.store(o, acc);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Launching

/// Blocks a reduction aims for when it has to split its elements: enough to fill an H100 (132 SMs) several
/// times. A constant, so the split (and with it the rounding) depends on the shape only, never on the GPU.
constexpr std::int64_t kTargetBlocks = 1024;
/// Outputs with up to this many elements get a warp each; longer ones a block.
constexpr std::int64_t kWarpRowLimit = 2048;
/// A split gives each thread at least this many elements (fewer would not pay for the second kernel).
constexpr std::int64_t kMinElementsPerThread = 16;
/// blockDim.y of the column kernel (kWarpSize * kColumnRows <= kThreads).
constexpr int kColumnRows = 8;

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

/// How the `inner` elements of each output are cut: `splits` chunks of `chunk` elements (the last may be
/// shorter), aiming at `wanted` chunks.
struct Split {
  std::int64_t splits = 1;
  std::int64_t chunk = 0;
};
Split split_elements(std::int64_t inner, std::int64_t wanted) {
  if (inner == 0) return {};
  const std::int64_t chunk = ceil_div(inner, std::clamp<std::int64_t>(wanted, 1, inner));
  return {ceil_div(inner, chunk), chunk};
}

/// Columns when neighbouring outputs are closer in memory than neighbouring reduced elements, or when the
/// outputs are too short for a warp each (a warp per row of 7 elements would leave 25 lanes idle).
bool prefer_columns(const ReduceGeometry& g) {
  if (g.kept.rank == 0) return false;  // a single output: split it over many blocks instead
  if (g.reduced.rank == 0) return true;
  const std::int64_t kept_step = std::llabs(g.kept.strides[g.kept.rank - 1]);
  const std::int64_t reduced_step = std::llabs(g.reduced.strides[g.reduced.rank - 1]);
  return kept_step < reduced_step || g.inner < kWarpSize;
}

/// Runs `op` over the geometry `g` of `input` (on `device`): picks the launch shape and the split, and
/// combines the partial values when there is more than one chunk per output.
template <typename Op>
void run_reduction(const Op& op, const typename Op::In* input, const ReduceGeometry& g, Device device,
                   const char* what) {
  using Acc = typename Op::Acc;
  if (g.outer == 0) return;
  const bool columns = prefer_columns(g);
  int column_rows = 1;
  std::int64_t column_blocks = 0;
  Split split;
  if (columns) {
    column_rows = static_cast<int>(std::min<std::uint64_t>(
        kColumnRows, std::bit_ceil(static_cast<std::uint64_t>(std::max<std::int64_t>(g.inner, 1)))));
    column_blocks = ceil_div(g.outer, kWarpSize);
    split = split_elements(g.inner, std::min(ceil_div(kTargetBlocks, column_blocks),
                                             ceil_div(g.inner, column_rows * kMinElementsPerThread)));
    split.splits = std::min<std::int64_t>(split.splits, 65535);  // gridDim.y limit
    if (g.inner > 0) split.chunk = ceil_div(g.inner, split.splits);
  } else if (g.inner > kWarpRowLimit) {
    split = split_elements(
        g.inner, std::min(ceil_div(kTargetBlocks, g.outer), ceil_div(g.inner, kThreads * kMinElementsPerThread)));
  } else {
    split = split_elements(g.inner, 1);
  }

  Tensor workspace;  // the partial values, [outer, splits], when the elements are split
  Acc* partials = nullptr;
  if (split.splits > 1) {
    workspace = Tensor::empty({g.outer * split.splits * static_cast<std::int64_t>(sizeof(Acc))}, DType::u8, device);
    partials = static_cast<Acc*>(workspace.device_pointer());
  }
  if (columns) {
    const dim3 grid(static_cast<unsigned>(column_blocks), static_cast<unsigned>(split.splits));
    const dim3 block(kWarpSize, static_cast<unsigned>(column_rows));
    reduce_columns_kernel<Op><<<grid, block, 0, stream()>>>(op, input, g, split.splits, split.chunk, partials);
  } else if (g.inner > kWarpRowLimit) {
    reduce_rows_kernel<kThreads, Op><<<grid_for(g.outer * split.splits, 1), kThreads, 0, stream()>>>(
        op, input, g, split.splits, split.chunk, partials);
  } else {
    reduce_rows_kernel<kWarpSize, Op><<<grid_for(g.outer, kThreads / kWarpSize), kThreads, 0, stream()>>>(
        op, input, g, split.splits, split.chunk, partials);
  }
  RG_CUDA_CHECK_LAUNCH(what);
  if (split.splits > 1) {
    finish_partials_kernel<Op>
        <<<grid_for(g.outer, kThreads / kWarpSize), kThreads, 0, stream()>>>(op, partials, g.outer, split.splits);
    RG_CUDA_CHECK_LAUNCH(what);
  }
  // `workspace` goes back to the caching allocator here; kernels later on the same stream run after these,
  // so reusing the block is safe.
}

// ---------------------------------------------------------------------------------------------------------
// Elementwise helpers of the backward passes

/// out[i] = fn(a[i], b[i], c[i]) over the elements i (row-major) of three views of one shape (expanded
/// views broadcast with stride 0); out is dense.
template <typename T, typename Fn>
__global__ void map3_kernel(Fn fn, T* out, std::int64_t numel, const T* a, StridedLayout a_layout, const T* b,
                            StridedLayout b_layout, const T* c, StridedLayout c_layout) {
  for (std::int64_t i = grid_first(); i < numel; i += grid_step()) {
    out[i] = fn(a[offset_in(i, a_layout)], b[offset_in(i, b_layout)], c[offset_in(i, c_layout)]);
  }
}

/// A dense tensor of a's shape with out[i] = fn(a[i], b[i], c[i]); b and c have a's shape (expand them).
template <typename T, typename Fn>
Tensor map3(Fn fn, const Tensor& a, const Tensor& b, const Tensor& c, const char* what) {
  Tensor out = Tensor::empty(a.shape(), a.dtype(), a.device());
  const std::int64_t numel = a.numel();
  if (numel == 0) return out;
  map3_kernel<T, Fn><<<grid_for(numel), kThreads, 0, stream()>>>(
      fn, output_pointer<T>(out), numel, input_pointer<T>(a), coalesced_layout(a, what), input_pointer<T>(b),
      coalesced_layout(b, what), input_pointer<T>(c), coalesced_layout(c, what));
  RG_CUDA_CHECK_LAUNCH(what);
  return out;
}

template <typename T>
__device__ __forceinline__ T sign_of(T v) {
  return static_cast<T>((v > T(0)) - (v < T(0)));
}

/// 1 where v equals the selected extreme, else 0.
template <typename T>
struct IsSelected {
  __device__ T operator()(T v, T selected, T) const { return v == selected ? T(1) : T(0); }
};
/// The gradient shared evenly between the ties.
template <typename T>
struct ShareEvenly {
  __device__ T operator()(T is_tied, T g, T count) const { return is_tied * g / count; }
};
/// scale * (v - total / count) * g, the mean rounded to T first as on the CPU.
template <typename T>
struct VarianceGrad {
  T scale;
  double count;
  __device__ T operator()(T v, T total, T g) const {
    const T mean = static_cast<T>(static_cast<double>(total) / count);
    return scale * (v - mean) * g;
  }
};
/// |v|.
template <typename T>
struct Magnitude {
  __device__ T operator()(T v, T, T) const { return fabs(v); }
};
/// sign(v) * s.
template <typename T>
struct SignTimes {
  __device__ T operator()(T v, T s, T) const { return sign_of(v) * s; }
};
/// x / ||x|| * g (0 for a zero norm).
template <typename T>
struct TwoNormGrad {
  __device__ T operator()(T v, T norm, T g) const { return norm == T(0) ? T(0) : v / norm * g; }
};
/// sign(v) (|v| / ||x||)^(p-1) g; 0 for a zero norm or an element at 0.
template <typename T>
struct PNormGrad {
  T power;  // p - 1
  __device__ T operator()(T v, T norm, T g) const {
    return norm == T(0) || v == T(0) ? T(0) : sign_of(v) * pow(fabs(v) / norm, power) * g;
  }
};
/// exp(v - lse) * g.
template <typename T>
struct LogSumExpGrad {
  __device__ T operator()(T v, T lse, T g) const { return exp(v - lse) * g; }
};

/// Thread q = (o, i) owns column (o, :, i) of the dense output [outer, size, inner] and adds its `count`
/// values in order j = 0, 1, ...: one writer per element, so no atomics. Element (o, j, i) of src and index
/// has row-major number (o * count + j) * inner + i. Positions outside [0, size) are skipped (never written).
template <typename T>
__global__ void scatter_selected_kernel(T* out, const T* src, StridedLayout src_layout, const std::int64_t* index,
                                        StridedLayout index_layout, std::int64_t columns, std::int64_t size,
                                        std::int64_t inner, std::int64_t count) {
  for (std::int64_t q = grid_first(); q < columns; q += grid_step()) {
    const std::int64_t o = q / inner, i = q % inner;
    T* column = out + o * size * inner + i;
    for (std::int64_t j = 0; j < count; ++j) {
      const std::int64_t from = (o * count + j) * inner + i;
      const std::int64_t position = index[offset_in(from, index_layout)];
      if (position >= 0 && position < size) column[position * inner] += src[offset_in(from, src_layout)];
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// Entry points

Tensor sum(const Tensor& input, const raw::ReducePlan& plan) {
  const DeviceGuard guard(input.device().index, "sum");
  Tensor out = Tensor::empty(plan.out_shape, input.dtype(), input.device());
  visit_numeric(input.dtype(), "sum", [&]<typename T>(T) {
    run_reduction(SumOp<T>{output_pointer<T>(out)}, input_pointer<T>(input), geometry_of(input, plan.reduced, "sum"),
                  input.device(), "sum (CUDA)");
  });
  return out;
}

Tensor extreme_over_dims(const Tensor& input, const raw::ReducePlan& plan, bool is_max, std::string_view op) {
  const DeviceGuard guard(input.device().index, "amax/amin");
  return visit_numeric(input.dtype(), op, [&]<typename T>(T) {
    Tensor out = Tensor::empty(plan.out_shape, input.dtype(), input.device());
    const ReduceGeometry g = geometry_of(input, plan.reduced, op);
    if (is_max) {
      run_reduction(ExtremeOp<T, true>{lowest_value<T>(), output_pointer<T>(out)}, input_pointer<T>(input), g,
                    input.device(), "amax (CUDA)");
    } else {
      run_reduction(ExtremeOp<T, false>{highest_value<T>(), output_pointer<T>(out)}, input_pointer<T>(input), g,
                    input.device(), "amin (CUDA)");
    }
    return out;
  });
}

raw::ValuesIndices extreme_along_dim(const Tensor& input, int dim, bool keepdim, bool is_max, std::string_view op) {
  const DeviceGuard guard(input.device().index, "max/min");
  const Shape out_shape = raw::reduced_shape(input.shape(), dim, keepdim);
  raw::ValuesIndices out{Tensor::empty(out_shape, input.dtype(), input.device()),
                         Tensor::empty(out_shape, DType::i64, input.device())};
  std::vector<bool> reduced(static_cast<std::size_t>(input.dim()), false);
  if (input.dim() > 0) reduced[static_cast<std::size_t>(dim)] = true;
  const ReduceGeometry g = geometry_of(input, reduced, op);
  visit_numeric(input.dtype(), op, [&]<typename T>(T) {
    T* values = output_pointer<T>(out.values);
    std::int64_t* indices = output_pointer<std::int64_t>(out.indices);
    if (is_max) {
      run_reduction(ArgExtremeOp<T, true>{lowest_value<T>(), values, indices}, input_pointer<T>(input), g,
                    input.device(), "max (CUDA)");
    } else {
      run_reduction(ArgExtremeOp<T, false>{highest_value<T>(), values, indices}, input_pointer<T>(input), g,
                    input.device(), "min (CUDA)");
    }
  });
  return out;
}

Tensor var(const Tensor& input, const raw::ReducePlan& plan, std::int64_t correction) {
  const DeviceGuard guard(input.device().index, "var");
  const double denominator = std::max<double>(0.0, static_cast<double>(plan.inner - correction));
  return visit_floating(input.dtype(), "var", [&]<typename T>(T) {
    Tensor out = Tensor::empty(plan.out_shape, input.dtype(), input.device());
    const Tensor mean = Tensor::empty({plan.outer}, input.dtype(), input.device());
    const ReduceGeometry g = geometry_of(input, plan.reduced, "var");
    const T* x = input_pointer<T>(input);
    run_reduction(MeanOp<T>{static_cast<T>(plan.inner), output_pointer<T>(mean)}, x, g, input.device(),
                  "var (CUDA mean)");
    run_reduction(SquaredDeviationOp<T>{input_pointer<T>(mean), static_cast<T>(denominator), output_pointer<T>(out)}, x,
                  g, input.device(), "var (CUDA)");
    return out;
  });
}

Tensor norm(const Tensor& input, const raw::ReducePlan& plan, double p) {
  const DeviceGuard guard(input.device().index, "norm");
  NormKind kind = NormKind::general;
  if (std::isinf(p)) {
    kind = p > 0 ? NormKind::max_abs : NormKind::min_abs;
  } else if (p == 0.0) {
    kind = NormKind::count_nonzero;
  } else if (p == 1.0) {
    kind = NormKind::one;
  } else if (p == 2.0) {
    kind = NormKind::two;
  }
  return visit_floating(input.dtype(), "norm", [&]<typename T>(T) {
    Tensor out = Tensor::empty(plan.out_shape, input.dtype(), input.device());
    run_reduction(NormOp<T>{kind, static_cast<T>(p), highest_value<T>(), output_pointer<T>(out)},
                  input_pointer<T>(input), geometry_of(input, plan.reduced, "norm"), input.device(), "norm (CUDA)");
    return out;
  });
}

Tensor logsumexp(const Tensor& input, const raw::ReducePlan& plan) {
  const DeviceGuard guard(input.device().index, "logsumexp");
  return visit_floating(input.dtype(), "logsumexp", [&]<typename T>(T) {
    Tensor out = Tensor::empty(plan.out_shape, input.dtype(), input.device());
    const Tensor top = Tensor::empty({plan.outer}, input.dtype(), input.device());
    const ReduceGeometry g = geometry_of(input, plan.reduced, "logsumexp");
    const T* x = input_pointer<T>(input);
    run_reduction(MaxIgnoringNanOp<T>{lowest_value<T>(), output_pointer<T>(top)}, x, g, input.device(),
                  "logsumexp (CUDA max)");
    run_reduction(LogSumExpOp<T>{input_pointer<T>(top), output_pointer<T>(out)}, x, g, input.device(),
                  "logsumexp (CUDA)");
    return out;
  });
}

Tensor scatter_selected(const Tensor& src, const Tensor& index, const Shape& shape, const raw::AxisLayout& layout) {
  require_same_device("scatter_selected", src, {&index});
  const DeviceGuard guard(src.device().index, "scatter_selected");
  const std::int64_t count = src.dim() == 0 ? 1 : src.shape()[layout.dim];
  Tensor out = Tensor::empty(shape, src.dtype(), src.device());
  visit_floating(src.dtype(), "scatter_selected", [&]<typename T>(T) {
    if (out.numel() == 0) return;
    RG_CUDA_CHECK(cudaMemsetAsync(out.device_pointer(), 0, static_cast<std::size_t>(out.numel()) * sizeof(T), stream()),
                  "scatter_selected (CUDA)");
    const std::int64_t columns = layout.outer * layout.inner;
    if (columns == 0 || src.numel() == 0) return;
    scatter_selected_kernel<T><<<grid_for(columns), kThreads, 0, stream()>>>(
        output_pointer<T>(out), input_pointer<T>(src), coalesced_layout(src, "scatter_selected"),
        input_pointer<std::int64_t>(index), coalesced_layout(index, "scatter_selected"), columns, layout.size,
        layout.inner, count);
    RG_CUDA_CHECK_LAUNCH("scatter_selected (CUDA)");
  });
  return out;
}

Tensor share_among_ties(const Tensor& x, const Tensor& selected_kept, const Tensor& grad_kept,
                        const std::vector<std::int64_t>& dims) {
  require_same_device("share_among_ties", x, {&selected_kept, &grad_kept});
  const DeviceGuard guard(x.device().index, "share_among_ties");
  const Shape& shape = x.shape();
  return visit_floating(x.dtype(), "share_among_ties", [&]<typename T>(T) {
    const Tensor tied = map3<T>(IsSelected<T>{}, x, raw::expand(selected_kept, shape), x, "share_among_ties (CUDA)");
    const Tensor ties = cuda::sum(tied, raw::plan_reduction(tied, dims, true, "sum"));
    return map3<T>(ShareEvenly<T>{}, tied, raw::expand(grad_kept, shape), raw::expand(ties, shape),
                   "share_among_ties (CUDA)");
  });
}

Tensor var_backward(const Tensor& x, const Tensor& grad_kept, const std::vector<std::int64_t>& dims,
                    std::int64_t correction) {
  require_same_device("var", x, {&grad_kept});
  const DeviceGuard guard(x.device().index, "var");
  const raw::ReducePlan plan = raw::plan_reduction(x, dims, true, "var");
  const double count = static_cast<double>(plan.inner);
  const double scale = 2.0 / std::max<double>(0.0, count - static_cast<double>(correction));
  return visit_floating(x.dtype(), "var", [&]<typename T>(T) {
    const Tensor total = cuda::sum(x, raw::plan_reduction(x, dims, true, "sum"));
    return map3<T>(VarianceGrad<T>{static_cast<T>(scale), count}, x, raw::expand(total, x.shape()),
                   raw::expand(grad_kept, x.shape()), "var backward (CUDA)");
  });
}

Tensor norm_backward(const Tensor& x, const Tensor& norm_kept, const Tensor& grad_kept, double p,
                     const std::vector<std::int64_t>& dims) {
  require_same_device("norm", x, {&norm_kept, &grad_kept});
  const DeviceGuard guard(x.device().index, "norm");
  const Shape& shape = x.shape();
  return visit_floating(x.dtype(), "norm", [&]<typename T>(T) {
    const Tensor n = raw::expand(norm_kept, shape);
    const Tensor g = raw::expand(grad_kept, shape);
    if (p == 0.0) {
      Tensor out = Tensor::empty(shape, x.dtype(), x.device());
      fill(out, 0.0);
      return out;
    }
    if (p == 1.0) return map3<T>(SignTimes<T>{}, x, g, x, "norm backward (CUDA)");
    if (p == 2.0) return map3<T>(TwoNormGrad<T>{}, x, n, g, "norm backward (CUDA)");
    if (std::isinf(p)) {
      const Tensor magnitude = map3<T>(Magnitude<T>{}, x, x, x, "norm backward (CUDA)");
      const Tensor shared = share_among_ties(magnitude, norm_kept, grad_kept, dims);
      return map3<T>(SignTimes<T>{}, x, shared, x, "norm backward (CUDA)");
    }
    return map3<T>(PNormGrad<T>{static_cast<T>(p - 1.0)}, x, n, g, "norm backward (CUDA)");
  });
}

Tensor logsumexp_backward(const Tensor& x, const Tensor& lse_kept, const Tensor& grad_kept) {
  require_same_device("logsumexp", x, {&lse_kept, &grad_kept});
  const DeviceGuard guard(x.device().index, "logsumexp");
  return visit_floating(x.dtype(), "logsumexp", [&]<typename T>(T) {
    return map3<T>(LogSumExpGrad<T>{}, x, raw::expand(lse_kept, x.shape()), raw::expand(grad_kept, x.shape()),
                   "logsumexp backward (CUDA)");
  });
}

}  // namespace recgrad::cuda
