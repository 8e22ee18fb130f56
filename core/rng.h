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
/// 128-bit counter (given as two 64-bit halves). Inline: the CPU kernels call it
/// once per 4 elements, and a call per block cost more than the rounds.
inline std::array<std::uint32_t, 4> philox4x32(std::uint64_t key, std::uint64_t counter_lo,
                                               std::uint64_t counter_hi) {
  constexpr std::uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  std::uint32_t c0 = static_cast<std::uint32_t>(counter_lo), c1 = static_cast<std::uint32_t>(counter_lo >> 32);
  std::uint32_t c2 = static_cast<std::uint32_t>(counter_hi), c3 = static_cast<std::uint32_t>(counter_hi >> 32);
  std::uint32_t k0 = static_cast<std::uint32_t>(key), k1 = static_cast<std::uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t p0 = static_cast<std::uint64_t>(kMul0) * c0;
    const std::uint64_t p1 = static_cast<std::uint64_t>(kMul1) * c2;
    const std::uint32_t n0 = static_cast<std::uint32_t>(p1 >> 32) ^ c1 ^ k0;
    const std::uint32_t n1 = static_cast<std::uint32_t>(p1);
    const std::uint32_t n2 = static_cast<std::uint32_t>(p0 >> 32) ^ c3 ^ k1;
    const std::uint32_t n3 = static_cast<std::uint32_t>(p0);
    c0 = n0, c1 = n1, c2 = n2, c3 = n3;
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  return {c0, c1, c2, c3};
}

/// Philox4x32-10 for `Lanes` consecutive counters (counter_lo = first + lane, counter_hi = 0) at once:
/// words[w][lane] is word w of that block, exactly philox4x32(key, first + lane, 0)[w]. The lanes are
/// independent, so the compiler vectorises the rounds (32 x 32 -> 64-bit products).
template <int Lanes>
inline void philox4x32_lanes(std::uint64_t key, std::uint64_t first, std::uint32_t (&words)[4][Lanes]) {
  constexpr std::uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  std::uint32_t c0[Lanes], c1[Lanes], c2[Lanes], c3[Lanes];
  for (int l = 0; l < Lanes; ++l) {
    const std::uint64_t counter = first + static_cast<std::uint64_t>(l);
    c0[l] = static_cast<std::uint32_t>(counter), c1[l] = static_cast<std::uint32_t>(counter >> 32);
    c2[l] = 0, c3[l] = 0;
  }
  std::uint32_t k0 = static_cast<std::uint32_t>(key), k1 = static_cast<std::uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    for (int l = 0; l < Lanes; ++l) {
      const std::uint64_t p0 = static_cast<std::uint64_t>(kMul0) * c0[l];
      const std::uint64_t p1 = static_cast<std::uint64_t>(kMul1) * c2[l];
      const std::uint32_t n0 = static_cast<std::uint32_t>(p1 >> 32) ^ c1[l] ^ k0;
      const std::uint32_t n2 = static_cast<std::uint32_t>(p0 >> 32) ^ c3[l] ^ k1;
      c1[l] = static_cast<std::uint32_t>(p1);
      c3[l] = static_cast<std::uint32_t>(p0);
      c0[l] = n0, c2[l] = n2;
    }
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  for (int l = 0; l < Lanes; ++l) words[0][l] = c0[l], words[1][l] = c1[l], words[2][l] = c2[l], words[3][l] = c3[l];
}

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
