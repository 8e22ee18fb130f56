// Matrix products on a CUDA device through cuBLAS: the GPU side of core/ops/matmul.cpp, which does the
// shape checks and calls these. Row-major tensors go to column-major cuBLAS by the usual swap: C = A B
// is computed as C^T = B^T A^T, which is what cuBLAS sees when it reads our row-major buffers.
// Transposed views are passed as cuBLAS operation flags, without copies.
//
// dtypes: f32 (f32 accumulation; TF32 tensor cores only when recgrad::allow_tf32() is on), f64, and
// bf16 operands (f32 accumulation, bf16 or f32 output).
#pragma once

#include "core/tensor.h"

namespace recgrad::cuda {

/// c = alpha * a @ b + beta * c for 2-D views on one CUDA device: a [n, k] and b [k, m] each row-major
/// or a transposed (column-major) view, c [n, m] with unit column stride. beta == 0 ignores c's contents.
void gemm(const Tensor& c, const Tensor& a, const Tensor& b, double alpha, double beta);

/// out[i] = a[i] @ b[i] for every index i of the batch dims: a [batch..., n, k] and b [batch..., k, m]
/// (broadcast batch dims may have stride 0; each matrix row-major or transposed), out [batch..., n, m]
/// contiguous. The innermost batch dims that step through a and b by a single stride run as one
/// strided-batched cuBLAS call; any outer ones loop over such calls.
void gemm_batched(const Tensor& out, const Tensor& a, const Tensor& b);

/// out = x @ weight^T + bias for x [rows, in], weight [out_features, in], bias [out_features] or
/// undefined, out [rows, out_features] with unit column stride. With a bias: one cuBLASLt call that adds
/// it in the GEMM's epilogue (f32/bf16, dense aligned bias, dense out); otherwise every row of out is set
/// to the bias and the GEMM accumulates onto it (beta = 1).
void linear(const Tensor& out, const Tensor& x, const Tensor& weight, const Tensor& bias);

}  // namespace recgrad::cuda
