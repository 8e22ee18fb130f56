// Small helpers shared by the nn tests.
#pragma once

#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "recgrad.h"

namespace recgrad::nn::testing {

/// The names of (name, tensor) entries, in order.
inline std::vector<std::string> names_of(const std::vector<std::pair<std::string, Tensor>>& entries) {
  std::vector<std::string> names;
  for (const auto& entry : entries) names.push_back(entry.first);
  return names;
}

/// Bitwise equality of two CPU tensors: shape, dtype and every byte.
inline bool bit_equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const Tensor ca = contiguous(a), cb = contiguous(b);
  return std::memcmp(ca.raw_data(), cb.raw_data(), static_cast<std::size_t>(ca.numel()) * element_size(ca.dtype())) ==
         0;
}

/// The message of the recgrad::Error that `fn` throws, or "<no Error thrown>".
inline std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no Error thrown>";
}

}  // namespace recgrad::nn::testing
