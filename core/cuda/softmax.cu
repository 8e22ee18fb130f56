// Softmax, log-softmax and their backwards on CUDA, one row (the elements along `dim`) at a time:
//   rows of up to 1024 elements: a warp per row, the row held in registers (kPerLane values per lane),
//     so the row is read once and written once; the max and sums are warp shuffles;
//   longer rows (a vocabulary of 100k): a block per row, two or three passes over the row (the later
//     passes mostly hit L2), block_max / block_sum between them; dense rows move 16 bytes per access.
// Rows are addressed through strides, so any view works and a non-last dim needs no transposed copy.
// The reductions combine in a fixed order: results are deterministic.
#include <cmath>
#include <cstdint>

#include "core/cuda/kernel_utils.cuh"
#include "core/cuda/runtime_check.h"
#include "core/cuda/softmax.h"
#include "core/plans/reduce.h"

namespace recgrad::cuda {
namespace {

enum class RowOp { softmax, log_softmax, softmax_backward, log_softmax_backward };

template <RowOp kOp>
constexpr bool kIsBackward = kOp == RowOp::softmax_backward || kOp == RowOp::log_softmax_backward;

/// Where the rows of a tensor along one dim live: element j of row r sits at
/// offset_of(r, others) + j * stride (rows numbered in row-major order of the other dims).
struct RowLayout {
  StridedLayout others;  // the dims other than `dim`, in order
  std::int64_t stride = 1;
};

RowLayout row_layout(const Tensor& t, int dim, const char* op) {
  RG_CHECK(t.dim() <= kMaxDims, op, ": CUDA kernels support up to ", kMaxDims, " dimensions, got shape ", t.shape());
  RowLayout layout;
  if (t.dim() == 0) return layout;
  layout.stride = t.strides()[dim];
  for (int d = 0; d < t.dim(); ++d) {
    if (d == dim) continue;
    layout.others.sizes[layout.others.rank] = t.shape()[d];
    layout.others.strides[layout.others.rank] = t.strides()[d];
    ++layout.others.rank;
  }
  return layout;
}

/// The two inputs of a row op: x for the forward ops (b unused); the output y and the gradient g for
/// the backward ops.
template <typename T>
struct RowArgs {
  T* out;
  RowLayout out_rows;
  const T* a;
  RowLayout a_rows;
  const T* b;
  RowLayout b_rows;
  std::int64_t rows;
  std::int64_t n;  // elements per row
};

template <typename T>
__device__ __forceinline__ T minus_infinity() {
  return static_cast<T>(-INFINITY);
}

/// A warp per row; lane l holds elements l, l + 32, ..., l + 32 (kPerLane - 1) of the row (n <= 32 kPerLane),
/// so the warp's loads and stores are coalesced along a dense row.
template <typename T, RowOp kOp, int kPerLane>
__global__ void softmax_warp_kernel(RowArgs<T> args) {
  const int lane = threadIdx.x % kWarpSize;
  const std::int64_t warps = static_cast<std::int64_t>(gridDim.x) * (blockDim.x / kWarpSize);
  const std::int64_t n = args.n;
  for (std::int64_t row = grid_first() / kWarpSize; row < args.rows; row += warps) {
    const T* a = args.a + offset_of(row, args.a_rows.others);
    T* out = args.out + offset_of(row, args.out_rows.others);
    const T* b = kIsBackward<kOp> ? args.b + offset_of(row, args.b_rows.others) : nullptr;
    T av[kPerLane];
    T bv[kPerLane];  // the gradient (backward ops only)
#pragma unroll
    for (int k = 0; k < kPerLane; ++k) {
      const std::int64_t j = lane + k * kWarpSize;
      av[k] = j < n ? a[j * args.a_rows.stride] : T(0);
      if constexpr (kIsBackward<kOp>) bv[k] = j < n ? b[j * args.b_rows.stride] : T(0);
    }
    if constexpr (kOp == RowOp::softmax || kOp == RowOp::log_softmax) {
      T top = minus_infinity<T>();
#pragma unroll
      for (int k = 0; k < kPerLane; ++k) {
        if (lane + k * kWarpSize < n) top = max(top, av[k]);
      }
      top = warp_max(top);
      T total = 0;
#pragma unroll
      for (int k = 0; k < kPerLane; ++k) {
        if (lane + k * kWarpSize < n) {
          const T e = exp(av[k] - top);
          total += e;
          if constexpr (kOp == RowOp::softmax) av[k] = e;
        }
      }
      total = warp_sum(total);
      if constexpr (kOp == RowOp::softmax) {
        const T scale = T(1) / total;
#pragma unroll
        for (int k = 0; k < kPerLane; ++k) av[k] *= scale;
      } else {
        const T log_total = log(total);
#pragma unroll
        for (int k = 0; k < kPerLane; ++k) av[k] = (av[k] - top) - log_total;
      }
    } else if constexpr (kOp == RowOp::softmax_backward) {  // a = y, b = g; the padding (0) adds nothing
      T dot = 0;
#pragma unroll
      for (int k = 0; k < kPerLane; ++k) dot += bv[k] * av[k];
      dot = warp_sum(dot);
#pragma unroll
      for (int k = 0; k < kPerLane; ++k) av[k] = av[k] * (bv[k] - dot);
    } else {  // log_softmax_backward: a = y, b = g
      T total = 0;
#pragma unroll
      for (int k = 0; k < kPerLane; ++k) total += bv[k];
      total = warp_sum(total);
#pragma unroll
      for (int k = 0; k < kPerLane; ++k) av[k] = bv[k] - exp(av[k]) * total;
    }
#pragma unroll
    for (int k = 0; k < kPerLane; ++k) {
      const std::int64_t j = lane + k * kWarpSize;
      if (j < n) out[j * args.out_rows.stride] = av[k];
    }
  }
}

// ---- long rows: a block per row ----
// The op is written once (long_row_op) against a row walker with two passes, read(fn) calling
// fn(a_j, b_j) for the thread's elements, and write(fn) storing out_j = fn(a_j, b_j). StridedRow walks
// any view one element at a time; DenseRow reads and writes the aligned middle of dense rows 16 bytes at
// a time (4 floats per load: fewer instructions and more bytes in flight per thread).

/// A row of any strides; the block's threads take elements threadIdx.x, threadIdx.x + blockDim.x, ...
template <typename T>
struct StridedRow {
  T* out;
  std::int64_t out_stride;
  const T* a;
  std::int64_t a_stride;
  const T* b;
  std::int64_t b_stride;
  std::int64_t n;

  template <typename Fn>
  __device__ void read(Fn fn) const {
    for (std::int64_t j = threadIdx.x; j < n; j += blockDim.x) fn(a[j * a_stride], b[j * b_stride]);
  }
  template <typename Fn>
  __device__ void write(Fn fn) const {
    for (std::int64_t j = threadIdx.x; j < n; j += blockDim.x)
      out[j * out_stride] = fn(a[j * a_stride], b[j * b_stride]);
  }
};

/// Dense rows (stride 1) whose start addresses agree modulo 16 bytes: the elements before the first
/// 16-byte boundary (`head`) and after the last one go singly, the `packs` in between as 16-byte packs.
template <typename T>
struct DenseRow {
  static constexpr int kPack = 16 / sizeof(T);
  struct alignas(16) Pack {
    T v[kPack];
  };
  T* out;
  const T* a;
  const T* b;
  std::int64_t n;
  std::int64_t head;
  std::int64_t packs;

  __device__ DenseRow(T* out_row, const T* a_row, const T* b_row, std::int64_t length)
      : out(out_row), a(a_row), b(b_row), n(length) {
    const std::int64_t misaligned = static_cast<std::int64_t>(reinterpret_cast<std::uintptr_t>(a_row) % 16) / sizeof(T);
    head = min(n, (kPack - misaligned) % kPack);
    packs = (n - head) / kPack;
  }
  template <typename Fn>
  __device__ void read(Fn fn) const {
    for (std::int64_t j = threadIdx.x; j < head; j += blockDim.x) fn(a[j], b[j]);
    for (std::int64_t p = threadIdx.x; p < packs; p += blockDim.x) {
      const std::int64_t j = head + p * kPack;
      const Pack pa = *reinterpret_cast<const Pack*>(a + j);
      const Pack pb = *reinterpret_cast<const Pack*>(b + j);
#pragma unroll
      for (int k = 0; k < kPack; ++k) fn(pa.v[k], pb.v[k]);
    }
    for (std::int64_t j = head + packs * kPack + threadIdx.x; j < n; j += blockDim.x) fn(a[j], b[j]);
  }
  /// One 16-byte store (a plain assignment of the pack may be compiled to narrower stores); __stwb is the
  /// ordinary write-back store.
  __device__ static void store_pack(T* to, const Pack& pack) {
    if constexpr (kPack == 4) {
      __stwb(reinterpret_cast<float4*>(to), make_float4(pack.v[0], pack.v[1], pack.v[2], pack.v[3]));
    } else {
      __stwb(reinterpret_cast<double2*>(to), make_double2(pack.v[0], pack.v[1]));
    }
  }
  template <typename Fn>
  __device__ void write(Fn fn) const {
    for (std::int64_t j = threadIdx.x; j < head; j += blockDim.x) out[j] = fn(a[j], b[j]);
    for (std::int64_t p = threadIdx.x; p < packs; p += blockDim.x) {
      const std::int64_t j = head + p * kPack;
      const Pack pa = *reinterpret_cast<const Pack*>(a + j);
      const Pack pb = *reinterpret_cast<const Pack*>(b + j);
      Pack po;
#pragma unroll
      for (int k = 0; k < kPack; ++k) po.v[k] = fn(pa.v[k], pb.v[k]);
      store_pack(out + j, po);
    }
    for (std::int64_t j = head + packs * kPack + threadIdx.x; j < n; j += blockDim.x) out[j] = fn(a[j], b[j]);
  }
};

/// True when the rows can go through DenseRow: stride 1 everywhere and the same offset from a 16-byte boundary.
__device__ __forceinline__ bool same_dense_alignment(const void* out, std::int64_t out_stride, const void* a,
                                                     std::int64_t a_stride, const void* b, std::int64_t b_stride) {
  const auto phase = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16; };
  return out_stride == 1 && a_stride == 1 && b_stride == 1 && phase(out) == phase(a) && phase(b) == phase(a);
}

/// The row op over one long row: two or three passes, combined over the block between them.
template <RowOp kOp, typename T, typename Row>
__device__ void long_row_op(const Row& row, T* scratch) {
  if constexpr (kOp == RowOp::softmax || kOp == RowOp::log_softmax) {  // a = b = x
    T top = minus_infinity<T>();
    row.read([&](T x, T) { top = max(top, x); });
    top = block_max(top, scratch, minus_infinity<T>());
    T total = 0;
    row.read([&](T x, T) { total += exp(x - top); });
    total = block_sum(total, scratch);
    if constexpr (kOp == RowOp::softmax) {
      const T scale = T(1) / total;
      row.write([&](T x, T) { return exp(x - top) * scale; });
    } else {
      const T log_total = log(total);
      row.write([&](T x, T) { return (x - top) - log_total; });
    }
  } else if constexpr (kOp == RowOp::softmax_backward) {  // a = y, b = g
    T dot = 0;
    row.read([&](T y, T g) { dot += g * y; });
    dot = block_sum(dot, scratch);
    row.write([&](T y, T g) { return y * (g - dot); });
  } else {  // log_softmax_backward: a = y, b = g
    T total = 0;
    row.read([&](T, T g) { total += g; });
    total = block_sum(total, scratch);
    row.write([&](T y, T g) { return g - exp(y) * total; });
  }
}

/// Threads per block of the long-row kernel.
constexpr int kLongRowThreads = 1024;

/// A block per row (rows longer than a warp holds in registers). The launch bound keeps ptxas within
/// 64 registers per thread, or 1024 threads would not fit on an SM.
template <typename T, RowOp kOp>
__global__ void __launch_bounds__(kLongRowThreads) softmax_block_kernel(RowArgs<T> args) {
  __shared__ T scratch[kWarpSize];
  for (std::int64_t row = blockIdx.x; row < args.rows; row += gridDim.x) {  // the same for the whole block
    T* out = args.out + offset_of(row, args.out_rows.others);
    const T* a = args.a + offset_of(row, args.a_rows.others);
    // The forward ops have one input: b is a again.
    const T* b = kIsBackward<kOp> ? args.b + offset_of(row, args.b_rows.others) : a;
    const std::int64_t b_stride = kIsBackward<kOp> ? args.b_rows.stride : args.a_rows.stride;
    if (same_dense_alignment(out, args.out_rows.stride, a, args.a_rows.stride, b, b_stride)) {
      long_row_op<kOp>(DenseRow<T>(out, a, b, args.n), scratch);
    } else {
      long_row_op<kOp>(StridedRow<T>{out, args.out_rows.stride, a, args.a_rows.stride, b, b_stride, args.n}, scratch);
    }
  }
}

/// Picks the kernel by row length: rows up to 64, 256 or 1024 elements are held in registers by a warp
/// (2, 8 or 32 values per lane); longer rows get a block.
template <typename T, RowOp kOp>
void launch_rows(const RowArgs<T>& args, const char* what) {
  const unsigned warp_blocks = grid_for(args.rows, kThreads / kWarpSize);
  if (args.n <= 2 * kWarpSize) {
    softmax_warp_kernel<T, kOp, 2><<<warp_blocks, kThreads, 0, stream()>>>(args);
  } else if (args.n <= 8 * kWarpSize) {
    softmax_warp_kernel<T, kOp, 8><<<warp_blocks, kThreads, 0, stream()>>>(args);
  } else if (args.n <= 32 * kWarpSize) {
    softmax_warp_kernel<T, kOp, 32><<<warp_blocks, kThreads, 0, stream()>>>(args);
  } else {
    softmax_block_kernel<T, kOp><<<grid_for(args.rows, 1), kLongRowThreads, 0, stream()>>>(args);
  }
  RG_CUDA_CHECK_LAUNCH(what);
}

/// out = the row op over the rows along `dim` of a (and b for the backward ops); out is dense, a's shape.
template <typename T, RowOp kOp>
Tensor run_rows(const Tensor& a, const Tensor& b, std::int64_t dim, const char* op, const char* what) {
  const raw::AxisLayout layout = raw::axis_layout(a.shape(), dim, op);
  RG_CHECK(!b.defined() || b.device() == a.device(), op, ": gradient on ", b.device(), " but the output on ",
           a.device());
  const DeviceGuard guard(a.device().index, op);
  Tensor out = Tensor::empty(a.shape(), a.dtype(), a.device());
  const std::int64_t n = layout.size;
  const std::int64_t rows = n == 0 ? 0 : a.numel() / n;
  if (rows == 0) return out;
  const Tensor& second = b.defined() ? b : a;
  const RowArgs<T> args{static_cast<T*>(out.device_pointer()),
                        row_layout(out, layout.dim, op),
                        static_cast<const T*>(a.device_pointer()),
                        row_layout(a, layout.dim, op),
                        static_cast<const T*>(second.device_pointer()),
                        row_layout(second, layout.dim, op),
                        rows,
                        n};
  launch_rows<T, kOp>(args, what);
  return out;
}

}  // namespace

Tensor softmax(const Tensor& x, std::int64_t dim, bool log) {
  const char* op = log ? "log_softmax" : "softmax";
  return visit_floating(x.dtype(), op, [&]<typename T>(T) {
    if (log) return run_rows<T, RowOp::log_softmax>(x, Tensor(), dim, op, "log_softmax (CUDA)");
    return run_rows<T, RowOp::softmax>(x, Tensor(), dim, op, "softmax (CUDA)");
  });
}

Tensor softmax_backward(const Tensor& y, const Tensor& grad, std::int64_t dim, bool log) {
  const char* op = log ? "log_softmax_backward" : "softmax_backward";
  return visit_floating(y.dtype(), op, [&]<typename T>(T) {
    if (log) return run_rows<T, RowOp::log_softmax_backward>(y, grad, dim, op, "log_softmax_backward (CUDA)");
    return run_rows<T, RowOp::softmax_backward>(y, grad, dim, op, "softmax_backward (CUDA)");
  });
}

}  // namespace recgrad::cuda
