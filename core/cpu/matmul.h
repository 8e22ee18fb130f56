// The matrix products on the CPU (core/ops/matmul.h): OpenBLAS GEMMs on strided views. BLAS reads a matrix
// operand in place when one of its dims has unit stride (a row-major matrix, or the transpose of one such as
// x.t()); the raw ops make a dense copy of any other operand first (blas_readable tells which).
#pragma once

#include "core/tensor.h"

namespace recgrad::cpu {

/// Whether BLAS can read the last two dims of `t` as they are: unit stride along one of them and a leading
/// dimension BLAS accepts.
bool blas_readable(const Tensor& t);

/// Whether `c` ([n, m]) can be a GEMM output: row-major with unit column stride.
bool blas_row_major_output(const Tensor& c);

/// c[n, m] = alpha * a[n, k] @ b[k, m] + beta * c (f32 or f64; a and b blas_readable, c blas_row_major_output;
/// k = 0 gives beta * c, and beta = 0 ignores c's old contents).
void gemm(const Tensor& c, const Tensor& a, const Tensor& b, double alpha, double beta);

/// out[i] = a[i] @ b[i] for every batch index i: a [batch..., n, k], b [batch..., k, m] (expanded to the same
/// batch dims, each blas_readable), out dense [batch..., n, m]. Small products are spread over threads (each GEMM
/// then single-threaded inside OpenBLAS); large ones run one after another on OpenBLAS's threads.
void gemm_batched(const Tensor& out, const Tensor& a, const Tensor& b);

}  // namespace recgrad::cpu
