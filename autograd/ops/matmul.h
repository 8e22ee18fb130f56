// Differentiable matrix products (CBLAS GEMMs underneath, see core/ops/matmul.h).
//   matmul: c = a @ b                 da = g @ b^T (summed over broadcast batch dims)
//                                     db = a^T @ g (summed over broadcast batch dims)
//   linear: y = x W^T + bias          dx = g W,  dW = g^T x (rows of x folded),  dbias = sum_rows(g)
#pragma once

#include "core/ops/matmul.h"  // set_allow_tf32 / allow_tf32: TF32 GEMMs on CUDA
#include "core/tensor.h"

namespace recgrad {

/// Like torch.matmul: 1-D . 1-D is a dot product (0-d result); 2-D @ 2-D is a
/// matrix product; a 1-D left (right) operand is treated as a row (column)
/// vector whose extra dim is removed from the result; for rank > 2 the last
/// two dims are matrices and the leading (batch) dims broadcast. Transposed
/// views are read by BLAS in place, without copies. f32/f64 only.
Tensor matmul(const Tensor& a, const Tensor& b);

/// y = x W^T + bias for x [..., in], weight [out, in] and bias [out] (or an
/// undefined Tensor for none) -> [..., out]. The rows of x are folded into one
/// GEMM; so are the three GEMM-shaped parts of the backward.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace recgrad
