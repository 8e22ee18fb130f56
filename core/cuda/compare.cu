// Comparisons (bool results) and masked_fill on CUDA. Same rules as core/ops/compare.cpp: a floating tensor
// compares with a scalar in its own dtype, an integer one in double.
#include <type_traits>

#include "core/cuda/compare.h"
#include "core/cuda/elementwise.cuh"

namespace recgrad::cuda {
namespace {

template <typename C>
__device__ __forceinline__ bool compare_values(CompareOp op, C x, C y) {
  switch (op) {
    case CompareOp::eq:
      return x == y;
    case CompareOp::ne:
      return x != y;
    case CompareOp::lt:
      return x < y;
    case CompareOp::le:
      return x <= y;
    case CompareOp::gt:
      return x > y;
    case CompareOp::ge:
      return x >= y;
  }
  return false;
}

template <typename T>
struct CompareTensors {
  CompareOp op;
  __device__ bool operator()(T x, T y) const { return compare_values(op, x, y); }
};

/// C is T for floating T and double otherwise.
template <typename T, typename C>
struct CompareScalar {
  CompareOp op;
  C scalar;
  __device__ bool operator()(T x) const { return compare_values(op, static_cast<C>(x), scalar); }
};

template <typename T>
struct MaskedFill {
  T value;
  __device__ T operator()(T v, bool m) const { return m ? value : v; }
};

}  // namespace

void compare(CompareOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  visit_dtype(a.dtype(),
              [&]<typename T>(T) { launch_map<bool, T, T>("compare (CUDA)", out, CompareTensors<T>{op}, a, b); });
}

void compare_scalar(CompareOp op, const Tensor& out, const Tensor& a, double scalar) {
  visit_dtype(a.dtype(), [&]<typename T>(T) {
    using C = std::conditional_t<std::is_floating_point_v<T>, T, double>;
    launch_map<bool, T>("compare (CUDA)", out, CompareScalar<T, C>{op, static_cast<C>(scalar)}, a);
  });
}

void masked_fill(const Tensor& out, const Tensor& x, const Tensor& mask, double value) {
  visit_dtype(out.dtype(), [&]<typename T>(T) {
    launch_map<T, T, bool>("masked_fill (CUDA)", out, MaskedFill<T>{static_cast<T>(value)}, x, mask);
  });
}

}  // namespace recgrad::cuda
