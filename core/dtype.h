// Element types a tensor can hold, their sizes and names, and a visitor that
// turns a runtime dtype into a compile-time C++ type.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string_view>

#include "core/error.h"

/// Marks the few functions of this header that CUDA kernels call too (bfloat16's conversions).
#ifdef __CUDACC__
#define RG_HOST_DEVICE __host__ __device__
#else
#define RG_HOST_DEVICE
#endif

namespace recgrad {

/// bfloat16: the upper 16 bits of an IEEE f32 (1 sign, 8 exponent, 7 mantissa bits). Same range as
/// f32, about 3 significant decimal digits. A storage type: tensors of it can be created, copied,
/// converted (to_dtype), saved and loaded, and multiplied on CUDA (GEMM with f32 accumulation); the
/// arithmetic ops reject it (convert to f32 first).
struct bfloat16 {
  std::uint16_t bits;

  bfloat16() = default;  // trivial; bfloat16{} is +0
  /// Rounds `value` to the nearest bfloat16, ties to even; infinities stay infinite, values beyond the
  /// largest bfloat16 round to infinity, NaN stays NaN (quiet, sign kept).
  RG_HOST_DEVICE explicit bfloat16(float value) : bits(round_from_f32(value)) {}
  /// Exact: every bfloat16 is an f32.
  RG_HOST_DEVICE operator float() const { return f32_from_bits(static_cast<std::uint32_t>(bits) << 16); }

  /// The bfloat16 with the given bit pattern.
  RG_HOST_DEVICE static bfloat16 from_bits(std::uint16_t raw) {
    bfloat16 b;
    b.bits = raw;
    return b;
  }

 private:
  RG_HOST_DEVICE static std::uint32_t f32_bits(float value) {
#ifdef __CUDA_ARCH__
    return __float_as_uint(value);
#else
    return std::bit_cast<std::uint32_t>(value);
#endif
  }
  RG_HOST_DEVICE static float f32_from_bits(std::uint32_t raw) {
#ifdef __CUDA_ARCH__
    return __uint_as_float(raw);
#else
    return std::bit_cast<float>(raw);
#endif
  }
  // Keeps the top 16 bits, rounded: adding 0x7fff plus the lowest kept bit carries into the kept bits
  // exactly when the dropped half is above one half, or equal to one half with an odd kept part.
  RG_HOST_DEVICE static std::uint16_t round_from_f32(float value) {
    const std::uint32_t raw = f32_bits(value);
    if ((raw & 0x7fffffffu) > 0x7f800000u) {  // NaN: truncating could leave an infinity, so set the quiet bit
      return static_cast<std::uint16_t>((raw >> 16) | 0x0040u);
    }
    return static_cast<std::uint16_t>((raw + 0x7fffu + ((raw >> 16) & 1u)) >> 16);
  }
};
static_assert(sizeof(bfloat16) == 2, "bfloat16 must be 16 bits");

/// f32 is the working type; f64 exists for finite-difference gradcheck;
/// i64/i32 hold indices; b8 (bool) and u8 hold masks and bytes; bf16
/// (bfloat16) is a storage type for halving memory and for CUDA GEMMs.
enum class DType : std::uint8_t { f32, f64, i64, i32, b8, u8, bf16 };

/// Size in bytes of one element of `dtype`.
constexpr std::size_t element_size(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return 4;
    case DType::f64:
      return 8;
    case DType::i64:
      return 8;
    case DType::i32:
      return 4;
    case DType::b8:
      return 1;
    case DType::u8:
      return 1;
    case DType::bf16:
      return 2;
  }
  return 0;
}

/// Short lower-case name, as used in error messages and safetensors ("F32").
constexpr std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return "f32";
    case DType::f64:
      return "f64";
    case DType::i64:
      return "i64";
    case DType::i32:
      return "i32";
    case DType::b8:
      return "bool";
    case DType::u8:
      return "u8";
    case DType::bf16:
      return "bf16";
  }
  return "?";
}

/// The floating dtypes the arithmetic kernels (and autograd) support; bf16 is storage only and not among them.
constexpr bool is_floating(DType dtype) { return dtype == DType::f32 || dtype == DType::f64; }
constexpr bool is_integral(DType dtype) { return dtype == DType::i64 || dtype == DType::i32; }

inline std::ostream& operator<<(std::ostream& out, DType dtype) { return out << dtype_name(dtype); }

/// Maps a C++ element type to its DType: dtype_of<float>() == DType::f32.
template <typename T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::f32;
}
template <>
constexpr DType dtype_of<double>() {
  return DType::f64;
}
template <>
constexpr DType dtype_of<std::int64_t>() {
  return DType::i64;
}
template <>
constexpr DType dtype_of<std::int32_t>() {
  return DType::i32;
}
template <>
constexpr DType dtype_of<bool>() {
  return DType::b8;
}
template <>
constexpr DType dtype_of<std::uint8_t>() {
  return DType::u8;
}
template <>
constexpr DType dtype_of<bfloat16>() {
  return DType::bf16;
}

/// Calls `fn(T{})` with T the C++ type of `dtype` (bool for b8, recgrad::bfloat16 for bf16).
/// Use with a template lambda: visit_dtype(d, [&]<typename T>(T) { ... }).
template <typename Fn>
decltype(auto) visit_dtype(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::f32:
      return fn(float{});
    case DType::f64:
      return fn(double{});
    case DType::i64:
      return fn(std::int64_t{});
    case DType::i32:
      return fn(std::int32_t{});
    case DType::b8:
      return fn(bool{});
    case DType::u8:
      return fn(std::uint8_t{});
    case DType::bf16:
      return fn(bfloat16{});
  }
  throw Error("visit_dtype: unknown dtype");
}

/// The tail of the "expected ..., got <dtype>" errors: how to compute with a storage-only dtype.
constexpr std::string_view storage_only_hint(DType dtype) {
  return dtype == DType::bf16 ? " (bf16 is a storage type; convert with to_dtype(f32) to compute)" : "";
}

/// Like visit_dtype but only for f32/f64; any other dtype throws naming `op`.
template <typename Fn>
decltype(auto) visit_floating(DType dtype, std::string_view op, Fn&& fn) {
  switch (dtype) {
    case DType::f32:
      return fn(float{});
    case DType::f64:
      return fn(double{});
    default:
      throw Error(
          detail::concat(op, ": expected a floating dtype (f32 or f64), got ", dtype, storage_only_hint(dtype)));
  }
}

/// Like visit_dtype but for the numeric types f32, f64, i64, i32.
template <typename Fn>
decltype(auto) visit_numeric(DType dtype, std::string_view op, Fn&& fn) {
  switch (dtype) {
    case DType::f32:
      return fn(float{});
    case DType::f64:
      return fn(double{});
    case DType::i64:
      return fn(std::int64_t{});
    case DType::i32:
      return fn(std::int32_t{});
    default:
      throw Error(detail::concat(op, ": expected a numeric dtype (f32, f64, i64 or i32), got ", dtype,
                                 storage_only_hint(dtype)));
  }
}

/// Like visit_dtype but for the index types i64 and i32.
template <typename Fn>
decltype(auto) visit_index(DType dtype, std::string_view op, Fn&& fn) {
  switch (dtype) {
    case DType::i64:
      return fn(std::int64_t{});
    case DType::i32:
      return fn(std::int32_t{});
    default:
      throw Error(detail::concat(op, ": expected an index dtype (i64 or i32), got ", dtype));
  }
}

}  // namespace recgrad
