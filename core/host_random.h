// HostRandom: the seeded random stream for decisions taken on the host, one after another (the order of
// training rows each epoch, the synthetic data generator, the audit's start vectors). Tensors draw from the
// other family, the counter-based Philox streams of core/rng.h, whose element i depends only on (seed,
// offset, i) so that every device and thread count reproduces them; a host loop that draws one number at a
// time needs no such thing and wants a cheap sequential engine.
//
// The engine is std::mt19937_64, whose output the C++ standard fixes bit for bit; every conversion below is
// ours (the std:: distributions differ between standard libraries), so a seed gives the same stream on every
// platform.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <utility>
#include <vector>

namespace recgrad {

class HostRandom {
 public:
  /// The stream of `seed`.
  explicit HostRandom(std::uint64_t seed) : engine_(seed) {}
  /// Stream `stream` of `seed`: both mixed through std::seed_seq, so neighbouring seeds and streams (e.g. epochs)
  /// give unrelated sequences.
  HostRandom(std::uint64_t seed, std::uint64_t stream) : engine_(mix(seed, stream)) {}

  /// 64 random bits.
  std::uint64_t bits() { return engine_(); }
  /// Uniform in [0, 1): the top 53 bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  /// Uniform in (0, 1]: safe under log().
  double uniform_positive() { return 1.0 - uniform(); }
  /// Exponential with the given mean: -mean * log(U), U in (0, 1].
  double exponential(double mean) { return -mean * std::log(uniform_positive()); }
  /// Uniform integer in [0, n) by scaling a uniform double (fast; a bias below 2^-53 * n).
  std::int64_t index(std::int64_t n) {
    const auto scaled = static_cast<std::int64_t>(uniform() * static_cast<double>(n));
    return scaled < n - 1 ? scaled : n - 1;
  }
  /// Uniform integer in [0, bound) with no bias at all: 64-bit draws above the largest multiple of bound are
  /// rejected, then reduced modulo bound.
  std::uint64_t below(std::uint64_t bound) {
    const std::uint64_t limit =
        std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % bound;
    std::uint64_t draw = engine_();
    while (draw >= limit) draw = engine_();
    return draw % bound;
  }
  /// A uniformly random permutation of `values` in place (Fisher-Yates from the back, positions by index()).
  template <typename T>
  void shuffle(std::vector<T>& values) {
    for (std::size_t i = values.size(); i > 1; --i) {
      std::swap(values[i - 1], values[static_cast<std::size_t>(index(static_cast<std::int64_t>(i)))]);
    }
  }

 private:
  static std::mt19937_64 mix(std::uint64_t seed, std::uint64_t stream) {
    std::seed_seq sequence{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                           static_cast<std::uint32_t>(stream), static_cast<std::uint32_t>(stream >> 32)};
    return std::mt19937_64(sequence);
  }

  std::mt19937_64 engine_;
};

}  // namespace recgrad
