#include "core/cpu/random.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/cpu/loops.h"
#include "core/cpu/parallel.h"
#include "core/rng.h"

namespace recgrad::cpu {
namespace {

// Calls keep_fn(i, keep) for every i in [0, n), drawing four elements per
// Philox block (from block `start` of stream `seed`); blocks are split across threads, so the result does not
// depend on the thread count.
template <typename KeepFn>
void for_each_keep(std::int64_t n, std::uint32_t threshold, std::uint64_t seed, std::uint64_t start, KeepFn keep_fn) {
  const std::int64_t blocks = (n + 3) / 4;
  cpu::parallel_for(blocks, 64, [&](std::int64_t begin, std::int64_t end) {
    constexpr int kLanes = 8;  // blocks drawn together (vectorised); the same words as one at a time
    std::int64_t b = begin;
    for (; b + kLanes <= end; b += kLanes) {
      std::uint32_t words[4][kLanes];
      philox4x32_lanes<kLanes>(seed, start + static_cast<std::uint64_t>(b), words);
      const std::int64_t first = 4 * b;
      if (first + 4 * kLanes <= n) {
        for (int l = 0; l < kLanes; ++l) {
          for (int j = 0; j < 4; ++j) keep_fn(first + 4 * l + j, (words[j][l] >> 8) >= threshold);
        }
        continue;
      }
      for (int l = 0; l < kLanes; ++l) {
        for (int j = 0; j < 4 && first + 4 * l + j < n; ++j) {
          keep_fn(first + 4 * l + j, (words[j][l] >> 8) >= threshold);
        }
      }
    }
    for (; b < end; ++b) {
      const auto words = philox4x32(seed, start + static_cast<std::uint64_t>(b), 0);
      const std::int64_t first = 4 * b;
      const int count = static_cast<int>(std::min<std::int64_t>(4, n - first));
      for (int j = 0; j < count; ++j) keep_fn(first + j, (words[static_cast<std::size_t>(j)] >> 8) >= threshold);
    }
  });
}

}  // namespace

void rand(const Tensor& out, double low, double high, std::uint64_t seed, std::uint64_t first_block) {
  const std::int64_t n = out.numel();
  const std::uint64_t start = first_block;
  visit_floating(out.dtype(), "rand", [&]<typename T>(T) {
    T* data = out.data<T>();
    cpu::parallel_for(n, 16, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) {
        const auto words = philox4x32(seed, start + static_cast<std::uint64_t>(i / 4), 0);
        const double u = uniform_from_bits(words[static_cast<std::size_t>(i % 4)]);
        data[i] = static_cast<T>(std::fma(high - low, u, low));
      }
    });
  });
}

void randn(const Tensor& out, std::uint64_t seed, std::uint64_t first_block) {
  const std::int64_t n = out.numel();
  const std::uint64_t start = first_block;
  visit_floating(out.dtype(), "randn", [&]<typename T>(T) {
    T* data = out.data<T>();
    cpu::parallel_for(n, 64, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) {
        const auto words = philox4x32(seed, start + static_cast<std::uint64_t>(i / 2), 0);
        const double u1 = 1.0 - uniform_from_bits64(words[0], words[1]);  // (0, 1]
        const double u2 = uniform_from_bits64(words[2], words[3]);
        const double radius = std::sqrt(-2.0 * std::log(u1));
        const double angle = 2.0 * std::numbers::pi * u2;
        data[i] = static_cast<T>(i % 2 == 0 ? radius * std::cos(angle) : radius * std::sin(angle));
      }
    });
  });
}

void dropout_keep_mask(const Tensor& keep, std::uint32_t keep_threshold, std::uint64_t seed,
                       std::uint64_t first_block) {
  bool* keep_data = keep.data<bool>();
  for_each_keep(keep.numel(), keep_threshold, seed, first_block,
                [keep_data](std::int64_t i, bool kept) { keep_data[i] = kept; });
}

void dropout(const Tensor& x, std::uint32_t keep_threshold, double scale, std::uint64_t seed, std::uint64_t first_block,
             const Tensor& out, const Tensor& keep) {
  bool* keep_data = keep.data<bool>();
  visit_floating(x.dtype(), "dropout", [&]<typename T>(T) {
    const T s = static_cast<T>(scale);
    const T* in = x.data<T>();
    T* y = out.data<T>();
    for_each_keep(x.numel(), keep_threshold, seed, first_block, [=](std::int64_t i, bool kept) {
      keep_data[i] = kept;
      // A multiply, as in PyTorch (a dropped NaN stays NaN), by a factor computed without a branch: the keep
      // decisions are coin flips, so a branch would be mispredicted half the time.
      y[i] = in[i] * (static_cast<T>(kept) * s);
    });
  });
}

void dropout_backward(const Tensor& g, const Tensor& keep, double scale, const Tensor& out) {
  visit_floating(g.dtype(), "dropout_backward", [&]<typename T>(T) {
    const T s = static_cast<T>(scale);
    cpu::map<T, T, bool>(
        out, [s](T dy, bool kept) { return dy * (static_cast<T>(kept) * s); }, g, keep);  // branch-free, as above
  });
}

}  // namespace recgrad::cpu
