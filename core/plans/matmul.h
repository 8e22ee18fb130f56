// The process-wide TF32 switch of the matrix products: set by users (core/ops/matmul.h re-exports it),
// read by the cuBLAS launchers.
#pragma once

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
