// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011).
//
// Element i of a random tensor depends only on (seed, offset, i), never on the
// thread that computes it, so a seed gives the same numbers with one thread or
// many, and the CUDA backend reproduces the CPU's streams exactly.
#pragma once

#include <array>
#include <cstdint>

namespace recgrad {

/// One Philox4x32-10 block: 4 random 32-bit words from a 64-bit key and a
/// 128-bit counter (given as two 64-bit halves).
std::array<std::uint32_t, 4> philox4x32(std::uint64_t key, std::uint64_t counter_lo, std::uint64_t counter_hi);

/// Maps 32 random bits to a float uniform in [0, 1): top 24 bits * 2^-24.
inline float uniform_from_bits(std::uint32_t bits) { return static_cast<float>(bits >> 8) * (1.0f / 16777216.0f); }
/// Maps 64 random bits to a double uniform in [0, 1): top 53 bits * 2^-53.
inline double uniform_from_bits64(std::uint32_t hi, std::uint32_t lo) {
  const std::uint64_t bits = (static_cast<std::uint64_t>(hi) << 32) | lo;
  return static_cast<double>(bits >> 11) * (1.0 / 9007199254740992.0);
}

/// A seed plus a running offset. Each random op reserves a range of Philox
/// counters for itself (`reserve`) and derives element i from counter
/// (start + i / k, stream) — so the stream is deterministic in the seed and in
/// the order of random ops, not in threading.
class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0x5eed) : seed_(seed) {}
  void manual_seed(std::uint64_t seed) {
    seed_ = seed;
    offset_ = 0;
  }
  std::uint64_t seed() const { return seed_; }
  std::uint64_t offset() const { return offset_; }
  void set_offset(std::uint64_t offset) { offset_ = offset; }
  /// Reserves `blocks` Philox counters; returns the first one.
  std::uint64_t reserve(std::uint64_t blocks) {
    const std::uint64_t start = offset_;
    offset_ += blocks;
    return start;
  }

 private:
  std::uint64_t seed_;
  std::uint64_t offset_ = 0;
};

/// The process-wide generator used when an op is not given one.
Generator& default_generator();
/// Reseeds the default generator (and resets its offset).
void manual_seed(std::uint64_t seed);

}  // namespace recgrad
