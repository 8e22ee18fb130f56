// Element types a tensor can hold, their sizes and names, and a visitor that
// turns a runtime dtype into a compile-time C++ type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string_view>

#include "core/error.h"

namespace recgrad {

/// f32 is the working type; f64 exists for finite-difference gradcheck;
/// i64/i32 hold indices; b8 (bool) and u8 hold masks and bytes.
enum class DType : std::uint8_t { f32, f64, i64, i32, b8, u8 };

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
  }
  return "?";
}

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

/// Calls `fn(T{})` with T the C++ type of `dtype` (bool for b8).
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
  }
  throw Error("visit_dtype: unknown dtype");
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
      throw Error(detail::concat(op, ": expected a floating dtype (f32 or f64), got ", dtype));
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
      throw Error(detail::concat(op, ": expected a numeric dtype, got ", dtype));
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
