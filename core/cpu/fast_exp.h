// A branch-free exp for float that the compiler vectorises (std::exp does not
// vectorise without -ffast-math). Cephes-style: exp(x) = 2^n * exp(r) with
// n = round(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2], and exp(r) from a
// degree-6 polynomial; relative error about 2 ulp. exp_of<double> is std::exp,
// so f64 results (gradcheck) keep full precision.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace recgrad::cpu {

/// e^x for float; exact 0 below -87.3 (e.g. -inf) and inf above 88.3; NaN stays NaN.
inline float fast_exp(float x) {
  constexpr float kLow = -87.3f;
  constexpr float kHigh = 88.3f;
  const float clamped = x < kLow ? kLow : (x > kHigh ? kHigh : x);
  // Round x / ln2 to an integer with the 1.5 * 2^23 trick (exact, vectorisable).
  constexpr float kShift = 12582912.0f;
  const float shifted = clamped * 1.44269504088896341f + kShift;
  const float n = shifted - kShift;
  const std::int32_t exponent = std::bit_cast<std::int32_t>(shifted) - std::bit_cast<std::int32_t>(kShift);
  const float r = clamped - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float poly = p * r * r + r + 1.0f;
  const float scale = std::bit_cast<float>((exponent + 127) << 23);
  const float result = poly * scale;
  const float low_fixed = x < kLow ? 0.0f : result;
  const float high_fixed = x > kHigh ? std::numeric_limits<float>::infinity() : low_fixed;
  return x != x ? x : high_fixed;
}

/// e^x: fast_exp for float, std::exp for double.
template <typename T>
inline T exp_of(T x) {
  if constexpr (std::is_same_v<T, float>) {
    return fast_exp(x);
  } else {
    return std::exp(x);
  }
}

}  // namespace recgrad::cpu
