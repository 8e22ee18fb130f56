// recgrad::Error and the RG_CHECK macro: every invalid use of the library
// throws an Error whose message names the operation, the shapes and the dtypes
// involved. The library never aborts its host program on bad input.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace recgrad {

/// The one exception type the library throws for invalid use or I/O failure.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

namespace detail {
/// Concatenates any streamable values into one string.
template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
}  // namespace detail

}  // namespace recgrad

/// Throws recgrad::Error("<parts...>") when `condition` is false.
/// Example: RG_CHECK(a.dim() == 2, "matmul: expected a 2-D tensor, got ", a.shape());
#define RG_CHECK(condition, ...)                                      \
  do {                                                                \
    if (!(condition)) {                                               \
      throw ::recgrad::Error(::recgrad::detail::concat(__VA_ARGS__)); \
    }                                                                 \
  } while (false)
