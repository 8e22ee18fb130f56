// Assertions shared by the test suites.
#pragma once

#include <gtest/gtest.h>

#include <unistd.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "recgrad.h"

namespace recgrad::testing {

/// The whole content of the file at `path`, as bytes (empty when it cannot be read).
inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// Replaces the file at `path` with `bytes`.
inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// A fresh folder under the system temp dir for the running test (named by its suite, its name and the process
/// id, so parallel test processes never share one), removed with everything in it when the test ends.
class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("recgrad_" + std::string(info->test_suite_name()) + "_" + info->name() + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  /// Writes `text` (its bytes as they are) to `name` in the folder and returns the file's path.
  std::string write(const std::string& name, const std::string& text) const {
    const std::string file = (path_ / name).string();
    write_bytes(file, text);
    return file;
  }

 private:
  std::filesystem::path path_;
};

/// Expects `fn` to throw a recgrad::Error whose message contains every one of `parts`.
template <typename Fn>
void expect_error(Fn fn, const std::vector<std::string>& parts) {
  try {
    fn();
    ADD_FAILURE() << "expected a recgrad::Error";
  } catch (const Error& error) {
    const std::string message = error.what();
    for (const std::string& part : parts) EXPECT_NE(message.find(part), std::string::npos) << message;
  }
}

/// Expects the analytic gradients of `fn` at `inputs` to match finite differences (see gradcheck).
inline void expect_gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                             const std::vector<Tensor>& inputs, const GradcheckOptions& options = {}) {
  const GradcheckResult result = gradcheck(fn, inputs, options);
  EXPECT_TRUE(result.ok) << result.report;
}

/// Marks every input as requiring a gradient, then expect_gradcheck.
inline void expect_gradcheck_all(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                                 std::vector<Tensor> inputs, const GradcheckOptions& options = {}) {
  for (Tensor& input : inputs) input.requires_grad_();
  expect_gradcheck(fn, inputs, options);
}

/// A CPU f64 tensor of standard normals, drawn right after manual_seed(seed).
inline Tensor randn64(const Shape& shape, std::uint64_t seed) {
  manual_seed(seed);
  return randn(shape, {DType::f64});
}

/// max |a - b| over the elements of two tensors of one shape.
inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  const std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  double worst = 0.0;
  for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) worst = std::max(worst, std::abs(x[i] - y[i]));
  return worst;
}

/// Expects |actual - expected| <= atol + rtol |expected| elementwise (NaN only where expected is NaN);
/// reports how many elements differ and the worst one.
inline void expect_all_close(const Tensor& expected, const Tensor& actual, const std::string& what, double rtol = 1e-5,
                             double atol = 1e-6) {
  ASSERT_TRUE(actual.defined()) << what << " is undefined";
  ASSERT_EQ(expected.shape(), actual.shape()) << what;
  const std::vector<double> e = expected.to_vector<double>(), a = actual.to_vector<double>();
  std::size_t bad = 0, worst = 0;
  double worst_excess = 0.0;
  for (std::size_t i = 0; i < e.size(); ++i) {
    const double excess = std::abs(a[i] - e[i]) - (atol + rtol * std::abs(e[i]));
    if (excess > 0 || std::isnan(a[i]) != std::isnan(e[i])) {
      ++bad;
      if (!(excess <= worst_excess)) worst_excess = excess, worst = i;
    }
  }
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << e.size() << " elements differ; worst at " << worst
                     << ": expected " << e[worst] << ", got " << a[worst];
}

}  // namespace recgrad::testing

// ---- CUDA: the one skip of the GPU tests on machines without a usable device ----
#include "core/cuda/runtime.h"

/// Skips the current test with "no CUDA device: <reason>" when no CUDA device is usable.
#define SKIP_WITHOUT_CUDA()                                                             \
  do {                                                                                  \
    if (!::recgrad::cuda::cuda_available()) {                                           \
      GTEST_SKIP() << "no CUDA device: " << ::recgrad::cuda::cuda_unavailable_reason(); \
    }                                                                                   \
  } while (false)
