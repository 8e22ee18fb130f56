// Broadcasting arithmetic (core/ops/binary.h) on the CPU, through the one elementwise loop of
// core/cpu/loops.h; the raw ops check the operands and expand them to the output's shape. core/cuda/binary.cu
// is the same on a GPU.
#pragma once

#include "core/tensor.h"

namespace recgrad::cpu {

/// out = a + b, a - b, a * b, a / b elementwise for the numeric dtypes (a and b expanded to out's shape, of
/// out's dtype; integer division truncates).
void add(const Tensor& out, const Tensor& a, const Tensor& b);
void sub(const Tensor& out, const Tensor& a, const Tensor& b);
void mul(const Tensor& out, const Tensor& a, const Tensor& b);
void div(const Tensor& out, const Tensor& a, const Tensor& b);
/// dst = dst + alpha * src in place (src expanded to dst's shape; alpha converted to dst's dtype).
void add_scaled_(const Tensor& dst, const Tensor& src, double alpha);
/// dst = dst * factor in place (factor converted to dst's dtype).
void scale_(const Tensor& dst, double factor);

}  // namespace recgrad::cpu
