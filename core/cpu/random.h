// Random tensors and dropout on the CPU from the Philox4x32-10 stream of core/rng.h: the callers reserve the
// counters from the Generator and pass the seed and the first block, exactly as for core/cuda/random.h, so a
// seed gives the same tensor (and the same dropout mask) on both devices.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace recgrad::cpu {

/// out[i] = low + (high - low) * u_i (one fused multiply-add in double), u_i the 24-bit uniform of word i % 4
/// of Philox block (first_block + i / 4). out: dense CPU f32 or f64.
void rand(const Tensor& out, double low, double high, std::uint64_t seed, std::uint64_t first_block);
/// out[i] = Box-Muller in double of the two 53-bit uniforms of Philox block (first_block + i / 2): the cosine
/// branch for even i, the sine branch for odd i. out: dense CPU f32 or f64.
void randn(const Tensor& out, std::uint64_t seed, std::uint64_t first_block);
/// keep[i] = (word >> 8) >= keep_threshold for word i % 4 of Philox block (first_block + i / 4); keep: dense b8.
void dropout_keep_mask(const Tensor& keep, std::uint32_t keep_threshold, std::uint64_t seed, std::uint64_t first_block);
/// Inverted dropout with the mask of dropout_keep_mask: out[i] = x[i] * (keep[i] ? scale : 0), scale converted
/// to x's dtype. x, out: dense, floating; keep: dense b8.
void dropout(const Tensor& x, std::uint32_t keep_threshold, double scale, std::uint64_t seed, std::uint64_t first_block,
             const Tensor& out, const Tensor& keep);
/// out = g * (keep ? scale : 0), g and keep of one shape with any strides; out dense, g's dtype.
void dropout_backward(const Tensor& g, const Tensor& keep, double scale, const Tensor& out);

}  // namespace recgrad::cpu
