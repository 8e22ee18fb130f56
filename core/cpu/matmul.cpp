#include "core/cpu/matmul.h"

#include <cblas.h>

#include <algorithm>
#include <limits>

#include "core/cpu/parallel.h"

namespace recgrad::cpu {
namespace {

// How BLAS reads one matrix operand: a row-major matrix with leading dimension
// `ld` (no_trans), or the transpose of one (a column-major view, e.g. x.t()).
struct BlasLayout {
  bool usable = false;
  CBLAS_TRANSPOSE trans = CblasNoTrans;
  blasint ld = 1;
};

// The BLAS layout of a [rows, cols] matrix with strides (row_stride, col_stride).
BlasLayout blas_layout(std::int64_t rows, std::int64_t cols, std::int64_t row_stride, std::int64_t col_stride) {
  const std::int64_t max_ld = std::numeric_limits<blasint>::max();
  if ((col_stride == 1 || cols == 1) &&
      (rows == 1 || (row_stride >= std::max<std::int64_t>(1, cols) && row_stride <= max_ld))) {
    return {true, CblasNoTrans, static_cast<blasint>(rows == 1 ? std::max<std::int64_t>(1, cols) : row_stride)};
  }
  if ((row_stride == 1 || rows == 1) &&
      (cols == 1 || (col_stride >= std::max<std::int64_t>(1, rows) && col_stride <= max_ld))) {
    return {true, CblasTrans, static_cast<blasint>(cols == 1 ? std::max<std::int64_t>(1, rows) : col_stride)};
  }
  return {};
}

// The layout of the last two dims of `t` (rank >= 2).
BlasLayout matrix_layout(const Tensor& t) {
  const std::int64_t r = t.dim();
  return blas_layout(t.shape()[r - 2], t.shape()[r - 1], t.strides()[r - 2], t.strides()[r - 1]);
}

// C[n, m] = alpha * op(A)[n, k] @ op(B)[k, m] + beta * C, row-major, on raw pointers.
template <typename T>
void gemm_kernel(BlasLayout la, BlasLayout lb, std::int64_t n, std::int64_t m, std::int64_t k, T alpha, const T* a,
                 const T* b, T beta, T* c, std::int64_t ldc) {
  if (n == 0 || m == 0) return;
  if (k == 0) {  // an empty sum: C = beta * C
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < m; ++j) c[i * ldc + j] = beta == T(0) ? T(0) : beta * c[i * ldc + j];
    return;
  }
  const auto bn = static_cast<blasint>(n), bm = static_cast<blasint>(m), bk = static_cast<blasint>(k);
  const auto bldc = static_cast<blasint>(ldc);
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasRowMajor, la.trans, lb.trans, bn, bm, bk, alpha, a, la.ld, b, lb.ld, beta, c, bldc);
  } else {
    cblas_dgemm(CblasRowMajor, la.trans, lb.trans, bn, bm, bk, alpha, a, la.ld, b, lb.ld, beta, c, bldc);
  }
}

// Offset (in elements) of matrix `index` of a batch of `shape` with `strides`.
std::int64_t batch_offset(std::int64_t index, const Shape& shape, const Strides& strides) {
  std::int64_t offset = 0;
  for (std::size_t d = shape.size(); d-- > 0;) {
    offset += (index % shape[d]) * strides[d];
    index /= shape[d];
  }
  return offset;
}

// Per-matrix flops below which a batch of GEMMs is spread over threads (each
// GEMM then runs single-threaded inside OpenBLAS).
constexpr std::int64_t kSmallGemmFlops = 64 * 64 * 64;

}  // namespace

bool blas_readable(const Tensor& t) { return matrix_layout(t).usable; }

bool blas_row_major_output(const Tensor& c) {
  const BlasLayout lc = blas_layout(c.size(0), c.size(1), c.stride(0), c.stride(1));
  return lc.usable && lc.trans == CblasNoTrans;
}

void gemm(const Tensor& c, const Tensor& a, const Tensor& b, double alpha, double beta) {
  const BlasLayout lc = blas_layout(c.size(0), c.size(1), c.stride(0), c.stride(1));
  visit_floating(a.dtype(), "gemm", [&]<typename T>(T) {
    gemm_kernel<T>(matrix_layout(a), matrix_layout(b), a.size(0), b.size(1), a.size(1), static_cast<T>(alpha),
                   a.data<T>(), b.data<T>(), static_cast<T>(beta), c.data<T>(), lc.ld);
  });
}

void gemm_batched(const Tensor& out, const Tensor& a, const Tensor& b) {
  const std::int64_t n = a.size(-2), k = a.size(-1), m = b.size(-1);
  const Shape batch(out.shape().begin(), out.shape().end() - 2);
  const BlasLayout la = matrix_layout(a), lb = matrix_layout(b);
  const std::int64_t batches = numel_of(batch);
  const Strides a_strides(a.strides().begin(), a.strides().end() - 2);
  const Strides b_strides(b.strides().begin(), b.strides().end() - 2);
  visit_floating(a.dtype(), "matmul", [&]<typename T>(T) {
    const T* a_data = a.data<T>();
    const T* b_data = b.data<T>();
    T* out_data = out.data<T>();
    auto run = [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) {
        gemm_kernel<T>(la, lb, n, m, k, T(1), a_data + batch_offset(i, batch, a_strides),
                       b_data + batch_offset(i, batch, b_strides), T(0), out_data + i * n * m, m);
      }
    };
    if (n * m * k < kSmallGemmFlops) {
      cpu::parallel_for(batches, n * m * k + 1, run);
    } else {
      run(0, batches);
    }
  });
}

}  // namespace recgrad::cpu
