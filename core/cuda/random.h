// Random tensors and dropout on a CUDA device, from the same Philox4x32-10
// stream as the CPU (core/rng.h): the callers reserve the counters from the
// Generator exactly as the CPU code does and pass the seed and the first
// counter, and element i uses the same counter, word and formula, so a seed
// gives the same tensor on both devices (see each function for how exact).
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace recgrad::cuda {

/// out[i] = low + (high - low) * u_i (one fused multiply-add in double, as on the CPU), u_i the 24-bit
/// uniform of word i % 4 of Philox block (first_block + i / 4). out: dense, f32 or f64. Bit-identical
/// to the CPU's rand.
void rand(const Tensor& out, double low, double high, std::uint64_t seed, std::uint64_t first_block);

/// out[i] = Box-Muller in double of the two 53-bit uniforms of Philox block (first_block + i / 2):
/// sqrt(-2 log(1 - u1)) * cos(2 pi u2) for even i, * sin(2 pi u2) for odd i. out: dense, f32 or f64.
/// CUDA's double log/sin/cos may differ from the host libm in the last bit, so the values agree with
/// the CPU's randn to about 1e-15 relative (f64), and to the last bit of f32 in nearly all elements.
void randn(const Tensor& out, std::uint64_t seed, std::uint64_t first_block);

/// Inverted dropout: keep[i] = (word >> 8) >= keep_threshold for word i % 4 of Philox block
/// (first_block + i / 4), out[i] = x[i] * (keep[i] ? scale : 0) with scale converted to x's dtype.
/// x: floating, any strides; out: dense, x's shape and dtype; keep: dense b8. The mask is bit-identical
/// to the CPU's, and so is out.
void dropout(const Tensor& x, std::uint32_t keep_threshold, double scale, std::uint64_t seed, std::uint64_t first_block,
             const Tensor& out, const Tensor& keep);

/// out = g * (keep ? scale : 0) (the dropout backward), g and keep of one shape with any strides;
/// out dense, g's dtype.
void dropout_backward(const Tensor& g, const Tensor& keep, double scale, const Tensor& out);

}  // namespace recgrad::cuda
