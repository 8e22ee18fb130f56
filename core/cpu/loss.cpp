#include "core/cpu/loss.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/cpu/loops.h"
#include "core/cpu/parallel.h"
#include "core/cpu/row_softmax.h"
#include "core/cpu/vec_math.h"

namespace recgrad::cpu {
namespace {

// The targets as dense i64, each checked against [0, C) unless ignored.
std::vector<std::int64_t> checked_targets(const Tensor& targets, std::int64_t classes, std::int64_t ignore_index) {
  std::vector<std::int64_t> values = targets.to_vector<std::int64_t>();
  for (std::size_t row = 0; row < values.size(); ++row) {
    const std::int64_t t = values[row];
    RG_CHECK(t == ignore_index || (t >= 0 && t < classes), "cross_entropy: target ", t, " at row ", row,
             " is out of range [0, ", classes, ") (ignore_index is ", ignore_index, ")");
  }
  return values;
}

template <typename T>
T stable_sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

}  // namespace

raw::CrossEntropyRows cross_entropy_rows(const Tensor& logits, const Tensor& targets, std::int64_t ignore_index,
                                         double label_smoothing) {
  const std::int64_t rows = logits.shape()[0], classes = logits.shape()[1];
  const std::vector<std::int64_t> target = checked_targets(targets, classes, ignore_index);
  raw::CrossEntropyRows out;
  out.losses = Tensor::empty({rows}, logits.dtype(), logits.device());
  out.row_max = Tensor::empty({rows}, logits.dtype(), logits.device());
  out.row_log_sum = Tensor::empty({rows}, logits.dtype(), logits.device());
  for (std::int64_t t : target) out.counted += t != ignore_index;
  const Tensor& x = logits;  // dense (the raw op made sure)
  visit_floating(logits.dtype(), "cross_entropy", [&]<typename T>(T) {
    const T* data = x.data<T>();
    T* losses = out.losses.data<T>();
    T* row_max = out.row_max.data<T>();
    T* row_log_sum = out.row_log_sum.data<T>();
    const bool smoothing = label_smoothing > 0.0;
    cpu::parallel_for(rows, classes, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) {
        const T* row = data + i * classes;
        // One pass over the row, block by block (see cpu::row_logsumexp); the
        // row sum for label smoothing is taken while each block is in L1.
        T top = -std::numeric_limits<T>::infinity();
        double total = 0.0, row_sum = 0.0;
        for (std::int64_t b = 0; b < classes; b += cpu::kSoftmaxBlock) {
          const std::int64_t count = std::min(classes, b + cpu::kSoftmaxBlock) - b;
          const T block_top = cpu::row_max(row + b, count);
          if (block_top > top) {
            total *= std::exp(static_cast<double>(top) - static_cast<double>(block_top));
            top = block_top;
          }
          if (top != -std::numeric_limits<T>::infinity()) {
            total += cpu::row_sum_exp<false>(row + b, count, top, static_cast<T*>(nullptr));
          }
          if (smoothing) row_sum += cpu::row_sum(row + b, count);
        }
        const double log_sum = std::log(total);
        row_max[i] = top;
        row_log_sum[i] = static_cast<T>(log_sum);
        if (target[i] == ignore_index) {
          losses[i] = T(0);
          continue;
        }
        // -log p_j = log_sum - (x_j - top); smoothing averages it over all j.
        const double nll = log_sum - (static_cast<double>(row[target[i]]) - top);
        const double mean_nll = log_sum - (row_sum / static_cast<double>(classes) - top);
        losses[i] = static_cast<T>(smoothing ? (1.0 - label_smoothing) * nll + label_smoothing * mean_nll : nll);
      }
    });
  });
  return out;
}

Tensor cross_entropy_backward(const Tensor& logits, const Tensor& targets, const raw::CrossEntropyRows& rows,
                              const Tensor& row_grad, double scale, std::int64_t ignore_index, double label_smoothing) {
  const std::int64_t n = logits.shape()[0], classes = logits.shape()[1];
  const std::vector<std::int64_t> target = targets.to_vector<std::int64_t>();
  const Tensor& x = logits;  // dense (the raw op made sure)
  Tensor out = Tensor::empty(logits.shape(), logits.dtype(), logits.device());
  visit_floating(logits.dtype(), "cross_entropy", [&]<typename T>(T) {
    const std::vector<T> weight = row_grad.defined() ? row_grad.to_vector<T>() : std::vector<T>();
    const T* data = x.data<T>();
    const T* row_max = rows.row_max.data<T>();
    const T* row_log_sum = rows.row_log_sum.data<T>();
    T* result = out.data<T>();
    const T smooth = static_cast<T>(label_smoothing / static_cast<double>(classes));
    cpu::parallel_for(n, classes, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) {
        T* dx = result + i * classes;
        if (target[i] == ignore_index) {
          std::fill(dx, dx + classes, T(0));
          continue;
        }
        const T w = static_cast<T>(scale * (weight.empty() ? 1.0 : static_cast<double>(weight[i])));
        const T* row = data + i * classes;
        const T top = row_max[i], log_sum = row_log_sum[i], shifted_smooth = w * smooth;
#pragma omp simd
        for (std::int64_t j = 0; j < classes; ++j) {
          dx[j] = w * cpu::vmath::exp((row[j] - top) - log_sum) - shifted_smooth;
        }
        dx[target[i]] -= w * static_cast<T>(1.0 - label_smoothing);
      }
    });
  });
  return out;
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets) {
  Tensor out = Tensor::empty(logits.shape(), logits.dtype(), logits.device());
  visit_floating(logits.dtype(), "binary_cross_entropy_with_logits", [&]<typename T>(T) {
    cpu::map<T, T, T>(
        out, [](T x, T t) { return std::max(x, T(0)) - x * t + std::log1p(std::exp(-std::abs(x))); }, logits, targets);
  });
  return out;
}

raw::BinaryCrossEntropyGrads binary_cross_entropy_with_logits_backward(const Tensor& logits, const Tensor& targets,
                                                                       const Tensor& grad, double scale,
                                                                       bool want_targets) {
  const Tensor& g = grad;
  raw::BinaryCrossEntropyGrads out;
  out.logits = Tensor::empty(logits.shape(), logits.dtype(), logits.device());
  visit_floating(logits.dtype(), "binary_cross_entropy_with_logits", [&]<typename T>(T) {
    const T s = static_cast<T>(scale);
    cpu::map<T, T, T, T>(
        out.logits, [s](T x, T t, T gv) { return (stable_sigmoid(x) - t) * gv * s; }, logits, targets, g);
    if (want_targets) {
      out.targets = Tensor::empty(logits.shape(), logits.dtype(), logits.device());
      cpu::map<T, T, T>(
          out.targets, [s](T x, T gv) { return -x * gv * s; }, logits, g);
    }
  });
  return out;
}

}  // namespace recgrad::cpu
