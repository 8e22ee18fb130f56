// Transcendental functions written so that a loop over them vectorises.
//
// glibc's expf/tanhf/erfcf are scalar calls, which keeps every activation loop
// scalar. The float overloads below use only +, -, *, /, comparisons and bit
// operations (no branches, no library calls), so the compiler turns a loop
// over them into SIMD code. They stay within a few ulp of the exact result
// (tests/autograd/test_activations.cpp checks them against the double
// versions). The double overloads are the std:: functions: f64 is the
// reference type used by gradcheck, where accuracy matters more than speed.
// All are always_inline: a call left out of line would keep the loop scalar.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace recgrad::cpu::vmath {

/// condition ? if_true : if_false, as bit operations on already computed
/// values. A plain ?: lets the compiler move an arm's arithmetic under a
/// branch, which (floating-point traps being observable) then blocks
/// vectorisation.
[[gnu::always_inline]] inline float select(bool condition, float if_true, float if_false) {
  const std::uint32_t mask = condition ? ~std::uint32_t{0} : std::uint32_t{0};
  return std::bit_cast<float>((std::bit_cast<std::uint32_t>(if_true) & mask) |
                              (std::bit_cast<std::uint32_t>(if_false) & ~mask));
}
[[gnu::always_inline]] inline double select(bool condition, double if_true, double if_false) {
  return condition ? if_true : if_false;
}

/// e^x. Float: x = n ln2 + r with |r| <= ln2 / 2, e^r from the Cephes
/// degree-6 polynomial, times 2^n built in the exponent bits (in two halves so
/// that results down to the smallest denormal stay exact). Overflows to +inf
/// above 88.72, underflows to 0 below -104, propagates NaN.
[[gnu::always_inline]] inline float exp(float x) {
  constexpr float kHigh = 88.7228394f, kLow = -104.0f;
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  const float clamped = select(x < kHigh, select(x > kLow, x, kLow), kHigh);  // NaN -> kHigh, patched below
  constexpr float kRoundMagic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float n = (clamped * kLog2e + kRoundMagic) - kRoundMagic;
  const float r = clamped - n * kLn2Hi - n * kLn2Lo;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const std::int32_t exponent = static_cast<std::int32_t>(n);
  const std::int32_t half = exponent >> 1;
  const float scale_a = std::bit_cast<float>((half + 127) << 23);
  const float scale_b = std::bit_cast<float>((exponent - half + 127) << 23);
  // Above kHigh x + inf = inf; a NaN x gives x + inf = NaN.
  return select(x <= kHigh, p * scale_a * scale_b, x + std::numeric_limits<float>::infinity());
}
[[gnu::always_inline]] inline double exp(double x) { return std::exp(x); }

/// The logistic function 1 / (1 + e^-x).
[[gnu::always_inline]] inline float sigmoid(float x) { return 1.0f / (1.0f + vmath::exp(-x)); }
[[gnu::always_inline]] inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

/// tanh(x). Float: the Cephes odd polynomial for |x| < 0.625 (keeps the
/// relative accuracy near 0), 1 - 2 / (e^{2|x|} + 1) with x's sign beyond.
[[gnu::always_inline]] inline float tanh(float x) {
  const float ax = std::fabs(x);
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = p * z * x + x;
  const float large = 1.0f - 2.0f / (vmath::exp(2.0f * ax) + 1.0f);
  return select(ax < 0.625f, small, std::copysign(large, x));
}
[[gnu::always_inline]] inline double tanh(double x) { return std::tanh(x); }

/// Phi(x) = P(N(0,1) <= x) = erfc(-x / sqrt2) / 2. Float: the Chebyshev
/// erfc fit of Numerical Recipes (erfcc, fractional error < 1.2e-7) on |x|,
/// reflected for x > 0, so both tails keep their relative accuracy.
[[gnu::always_inline]] inline float normal_cdf(float x) {
  const float z = std::fabs(x) * 0.70710678118654752f;
  const float t = 1.0f / (1.0f + 0.5f * z);
  float p = 0.17087277f;
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t - 1.26551223f;
  const float half_erfc = 0.5f * t * vmath::exp(p - z * z);  // erfc(z) / 2
  return select(x < 0.0f, half_erfc, 1.0f - half_erfc);
}
[[gnu::always_inline]] inline double normal_cdf(double x) { return 0.5 * std::erfc(-x * 0.70710678118654752440); }

}  // namespace recgrad::cpu::vmath
