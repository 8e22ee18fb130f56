#include "core/ops/matmul.h"

#include <algorithm>

#include "core/cpu/matmul.h"
#include "core/cpu/parallel.h"
#include "core/cuda/matmul.h"
#include "core/ops/copy.h"
#include "core/ops/view.h"

namespace recgrad::raw {

namespace {

void check_operands(const Tensor& a, const Tensor& b, std::string_view op) {
  RG_CHECK(a.device() == b.device(), op, ": operands are on different devices (", a.device(), " and ", b.device(), ")");
  RG_CHECK(a.dtype() == b.dtype(), op, ": operands have different dtypes (", a.dtype(), " ", a.shape(), " and ",
           b.dtype(), " ", b.shape(), "); convert one with to_dtype");
  // bf16 products exist on CUDA only (cuBLAS, f32 accumulation).
  RG_CHECK(is_floating(a.dtype()) || (a.dtype() == DType::bf16 && a.device().is_cuda()), op,
           ": expected floating operands (f32 or f64; bf16 on CUDA only), got ", a.dtype(), " ", a.shape(), " and ",
           b.dtype(), " ", b.shape(), " on ", a.device());
}

// A 2-D operand that BLAS can read: the view itself, or a dense copy.
Tensor blas_ready(const Tensor& t) { return cpu::blas_readable(t) ? t : raw::contiguous(t); }

// out[batch..., n, m] = a[batch..., n, k] @ b[batch..., k, m] where the batch
// dims of a and b broadcast to out's.
Tensor batched_matmul(Tensor a, Tensor b) {
  const std::int64_t n = a.size(-2), k = a.size(-1), m = b.size(-1);
  if (b.dim() == 2 && a.dim() > 2) {
    // [..., n, k] @ [k, m]: fold the batch into the rows, one GEMM.
    const Shape rows_shape{a.numel() / std::max<std::int64_t>(k, 1), k};
    if (k > 0) {
      if (auto strides = raw::view_strides(a, rows_shape)) {
        const Tensor rows = a.as_strided(rows_shape, *strides, a.offset());
        if (cpu::blas_readable(rows)) {
          Shape out_shape(a.shape().begin(), a.shape().end() - 1);
          out_shape.push_back(m);
          Tensor out = Tensor::empty(out_shape, a.dtype(), a.device());
          gemm_into(raw::view(out, {rows_shape[0], m}), rows, b);
          return out;
        }
      }
    }
  }
  if (a.dim() == 2 && b.dim() == 2) {
    Tensor out = Tensor::empty({n, m}, a.dtype(), a.device());
    gemm_into(out, a, b);
    return out;
  }
  const Shape batch = broadcast_shapes(Shape(a.shape().begin(), a.shape().end() - 2),
                                       Shape(b.shape().begin(), b.shape().end() - 2), "matmul");
  a = blas_ready(a);
  b = blas_ready(b);
  Shape a_shape = batch, b_shape = batch, out_shape = batch;
  a_shape.insert(a_shape.end(), {n, k});
  b_shape.insert(b_shape.end(), {k, m});
  out_shape.insert(out_shape.end(), {n, m});
  const Tensor ae = raw::expand(a, a_shape), be = raw::expand(b, b_shape);
  Tensor out = Tensor::empty(out_shape, a.dtype(), a.device());
  if (out.is_cuda()) {
    cuda::gemm_batched(out, ae, be);
  } else {
    cpu::gemm_batched(out, ae, be);
  }
  return out;
}

}  // namespace

void gemm_into(const Tensor& c, const Tensor& a, const Tensor& b, double alpha, double beta) {
  check_operands(a, b, "gemm");
  RG_CHECK(a.dim() == 2 && b.dim() == 2 && c.dim() == 2 && a.size(1) == b.size(0) && c.size(0) == a.size(0) &&
               c.size(1) == b.size(1),
           "gemm: cannot compute ", c.shape(), " = ", a.shape(), " @ ", b.shape());
  RG_CHECK(c.device() == a.device(), "gemm: output on ", c.device(), " but operands on ", a.device());
  RG_CHECK(c.dtype() == a.dtype() || (a.dtype() == DType::bf16 && c.dtype() == DType::f32), "gemm: output dtype ",
           c.dtype(), " differs from the operands' ", a.dtype(), " (bf16 operands may also write an f32 output)");
  RG_CHECK(cpu::blas_row_major_output(c), "gemm: the output ", c.shape(), " with strides ", c.strides(),
           " must be row-major with unit column stride");
  const Tensor ra = blas_ready(a), rb = blas_ready(b);
  if (c.is_cuda()) {
    cuda::gemm(c, ra, rb, alpha, beta);
  } else {
    cpu::gemm(c, ra, rb, alpha, beta);
  }
  c.bump_version();
}

Tensor mm(const Tensor& a, const Tensor& b) {
  check_operands(a, b, "mm");
  RG_CHECK(a.dim() == 2 && b.dim() == 2 && a.size(1) == b.size(0), "mm: shapes ", a.shape(), " and ", b.shape(),
           " cannot be multiplied");
  Tensor out = Tensor::empty({a.size(0), b.size(1)}, a.dtype(), a.device());
  gemm_into(out, a, b);
  return out;
}

Shape matmul_shape(const Shape& a, const Shape& b) {
  RG_CHECK(!a.empty() && !b.empty(), "matmul: both operands need at least one dimension, got shapes ", a, " and ", b);
  const std::int64_t ka = a.back();
  const std::int64_t kb = b.size() == 1 ? b[0] : b[b.size() - 2];
  RG_CHECK(ka == kb, "matmul: shapes ", a, " and ", b, " cannot be multiplied (", ka, " != ", kb, ")");
  if (a.size() == 1 && b.size() == 1) return {};
  const Shape batch_a = a.size() > 2 ? Shape(a.begin(), a.end() - 2) : Shape{};
  const Shape batch_b = b.size() > 2 ? Shape(b.begin(), b.end() - 2) : Shape{};
  Shape out = broadcast_shapes(batch_a, batch_b, "matmul");
  if (a.size() >= 2) out.push_back(a[a.size() - 2]);
  if (b.size() >= 2) out.push_back(b.back());
  return out;
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_operands(a, b, "matmul");
  const Shape out_shape = matmul_shape(a.shape(), b.shape());
  const Tensor a2 = a.dim() == 1 ? raw::unsqueeze(a, 0) : a;
  const Tensor b2 = b.dim() == 1 ? raw::unsqueeze(b, 1) : b;
  return raw::view(batched_matmul(a2, b2), out_shape);
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_operands(x, weight, "linear");
  RG_CHECK(weight.dim() == 2 && x.dim() >= 1 && x.size(-1) == weight.size(1), "linear: input of shape ", x.shape(),
           " does not match weight of shape ", weight.shape(), " (expected input [..., ",
           weight.dim() == 2 ? weight.size(1) : -1, "] and weight [out, in])");
  const std::int64_t in = weight.size(1), out_features = weight.size(0);
  if (bias.defined()) {
    RG_CHECK(bias.dtype() == x.dtype() && bias.dim() == 1 && bias.size(0) == out_features, "linear: bias of shape ",
             bias.shape(), " ", bias.dtype(), " does not match weight ", weight.shape(), " ", weight.dtype(),
             " (expected [", out_features, "])");
    RG_CHECK(bias.device() == x.device(), "linear: bias on ", bias.device(), " but input on ", x.device());
  }
  const std::int64_t rows = in == 0 ? numel_of(Shape(x.shape().begin(), x.shape().end() - 1)) : x.numel() / in;
  Shape out_shape(x.shape().begin(), x.shape().end() - 1);
  out_shape.push_back(out_features);
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
  const Tensor out2d = raw::view(out, {rows, out_features});
  const Tensor x2d = raw::reshape(x, {rows, in});
  if (x.is_cuda()) {
    cuda::linear(out2d, blas_ready(x2d), blas_ready(weight), bias);
    out.bump_version();
    return out;
  }
  if (bias.defined()) {
    // Every output row starts as the bias; the GEMM then accumulates onto it (beta = 1).
    visit_floating(x.dtype(), "linear", [&]<typename T>(T) {
      const Tensor dense_bias = raw::contiguous(bias);
      const T* b = dense_bias.data<T>();
      T* o = out2d.data<T>();
      cpu::parallel_for(rows, out_features, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t r = begin; r < end; ++r) std::copy(b, b + out_features, o + r * out_features);
      });
    });
    gemm_into(out2d, x2d, raw::transpose(weight, 0, 1), 1.0, 1.0);
  } else {
    gemm_into(out2d, x2d, raw::transpose(weight, 0, 1), 1.0, 0.0);
  }
  return out;
}

}  // namespace recgrad::raw
