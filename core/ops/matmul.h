// Matrix products without autograd, on CBLAS (sgemm/dgemm) on the CPU and on
// cuBLAS for CUDA tensors (core/cuda/gemm.h). Operands are passed to BLAS
// without copies whenever their last two dims form a row-major or a
// column-major (transposed) matrix; only other layouts are made dense first.
#pragma once

#include "core/tensor.h"

namespace recgrad {

/// TF32 for f32 matrix products on CUDA (mm, matmul, linear and their backward). Off by default: f32
/// GEMMs then compute in full f32 (CUBLAS_COMPUTE_32F). On, cuBLAS may round the inputs to TF32 (10-bit
/// mantissa, f32 range) for the tensor cores and still accumulate in f32 (CUBLAS_COMPUTE_32F_FAST_TF32):
/// several times faster on an H100, with results within about 1e-3 relative. Process-wide, read at each
/// call; no effect on the CPU, on f64, or on bf16 (which always accumulates in f32).
void set_allow_tf32(bool allow);
/// Whether f32 GEMMs on CUDA may use TF32 (see set_allow_tf32).
bool allow_tf32();

}  // namespace recgrad

namespace recgrad::raw {

/// c = alpha * a @ b + beta * c for 2-D views a [n, k], b [k, m] and a dense
/// (row stride >= m, column stride 1) c [n, m]; a and b may be transposed views.
/// With beta == 0, c's previous contents are ignored. Bumps c's version.
/// dtypes: f32 or f64 everywhere; on CUDA also bf16 operands (f32 accumulation)
/// with a bf16 or an f32 output c.
void gemm_into(const Tensor& c, const Tensor& a, const Tensor& b, double alpha = 1.0, double beta = 0.0);

/// 2-D product a [n, k] @ b [k, m] -> [n, m].
Tensor mm(const Tensor& a, const Tensor& b);

/// torch.matmul: 1-D . 1-D is a dot product (0-d result); 2-D @ 2-D is mm; a
/// 1-D left (right) operand gets a leading (trailing) 1 that is removed after;
/// otherwise the last two dims are matrices and the leading dims broadcast.
/// A [..., n, k] @ [k, m] product whose batch folds into rows is one GEMM.
Tensor matmul(const Tensor& a, const Tensor& b);

/// The output shape of matmul(a, b); throws naming both shapes on mismatch.
Shape matmul_shape(const Shape& a, const Shape& b);

/// y = x W^T + b for x [..., in], weight [out, in], bias [out] (or undefined):
/// one GEMM over the rows of x folded to [M, in], with the bias written into
/// the output first and accumulated with beta = 1.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

}  // namespace recgrad::raw
