// Matrix products without autograd, on CBLAS (sgemm/dgemm) on the CPU and on
// cuBLAS for CUDA tensors (core/cuda/matmul.h). Operands are passed to BLAS
// without copies whenever their last two dims form a row-major or a
// column-major (transposed) matrix; only other layouts are made dense first.
#pragma once

#include "core/plans/matmul.h"
#include "core/tensor.h"

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
