// Newton-Schulz orthogonalization (see newton_schulz.h). Each step is written
// as two GEMMs with beta != 0 so that no elementwise op touches the bf16
// buffers on a GPU:
//   A  = X X^T                       gemm(A, X, X^T)
//   B  = b A + c A A                 B = A;  gemm(B, A, A, alpha = c, beta = b)
//   X' = a X + B X                   X' = X; gemm(X', B, X, alpha = 1, beta = a)
// The buffers are allocated once per call and X / X' swap each step.
#include "optim/newton_schulz.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/factory.h"
#include "core/ops/binary.h"
#include "core/ops/copy.h"
#include "core/ops/matmul.h"
#include "core/ops/reduce.h"
#include "core/ops/view.h"

namespace recgrad {

namespace {

// x rounded to bf16 and back, in place: the CPU emulation of a bf16 buffer.
void round_to_bf16_(const Tensor& x) { raw::copy_(x, raw::to_dtype(x, DType::bf16)); }

}  // namespace

std::string to_string(NewtonSchulzPrecision precision) {
  switch (precision) {
    case NewtonSchulzPrecision::kAuto:
      return "auto";
    case NewtonSchulzPrecision::kInputDtype:
      return "input_dtype";
    case NewtonSchulzPrecision::kBFloat16:
      return "bf16";
  }
  return "?";
}

Tensor newton_schulz(const Tensor& g, const NewtonSchulzOptions& options) {
  RG_CHECK(g.defined() && g.dim() == 2, "newton_schulz: expected a 2-D matrix, got ",
           g.defined() ? g.shape() : Shape{});
  RG_CHECK(is_floating(g.dtype()), "newton_schulz: expected an f32 or f64 matrix, got ", g.dtype());
  RG_CHECK(!options.coefficients.empty(), "newton_schulz: the coefficient schedule is empty");
  RG_CHECK(options.steps >= 0, "newton_schulz: steps = ", options.steps, " (expected >= 0)");
  RG_CHECK(options.eps >= 0, "newton_schulz: eps = ", options.eps, " (expected >= 0)");
  const Device device = g.device();
  const bool bf16 = options.precision == NewtonSchulzPrecision::kBFloat16 ||
                    (options.precision == NewtonSchulzPrecision::kAuto && device.is_cuda());
  const bool bf16_gemm = bf16 && device.is_cuda();  // real bf16 GEMMs; on the CPU: f32 + rounding
  // The dtype the normalization runs in and the result is returned in.
  const DType work = bf16 ? DType::f32 : g.dtype();

  // X = G / (||G||_F + eps), as [n, m] with n <= m. The norm stays a 0-d tensor on the device.
  const bool transposed = g.size(0) > g.size(1);
  const Tensor g_work = raw::to_dtype(g, work);
  const Tensor norm = raw::add(raw::norm(g_work, 2.0, {}, false), scalar_tensor(options.eps, {work, device}));
  Tensor normalized = raw::div(g_work, norm);
  if (transposed) normalized = raw::transpose(normalized, 0, 1);
  const std::int64_t n = normalized.size(0), m = normalized.size(1);

  const DType buffer_dtype = bf16_gemm ? DType::bf16 : work;
  Tensor x = Tensor::empty({n, m}, buffer_dtype, device);
  raw::copy_(x, normalized);  // converts to bf16 on CUDA, makes [n, m] dense
  if (bf16 && !bf16_gemm) round_to_bf16_(x);
  Tensor next = Tensor::empty({n, m}, buffer_dtype, device);
  const Tensor gram = Tensor::empty({n, n}, buffer_dtype, device);  // A
  const Tensor poly = Tensor::empty({n, n}, buffer_dtype, device);  // B

  for (int step = 0; step < options.steps; ++step) {
    const std::size_t k = std::min<std::size_t>(static_cast<std::size_t>(step), options.coefficients.size() - 1);
    const auto [a, b, c] = options.coefficients[k];
    raw::gemm_into(gram, x, raw::transpose(x, 0, 1));  // A = X X^T
    if (bf16 && !bf16_gemm) round_to_bf16_(gram);
    raw::copy_(poly, gram);
    raw::gemm_into(poly, gram, gram, c, b);  // B = b A + c A A
    if (bf16 && !bf16_gemm) round_to_bf16_(poly);
    raw::copy_(next, x);
    raw::gemm_into(next, poly, x, 1.0, a);  // X' = a X + B X
    if (bf16 && !bf16_gemm) round_to_bf16_(next);
    std::swap(x, next);
  }

  const Tensor oriented = transposed ? raw::transpose(x, 0, 1) : x;
  Tensor out = Tensor::empty(g.shape(), g.dtype(), device);
  raw::copy_(out, oriented);  // back to g's layout and dtype
  return out;
}

double orthogonality_error(const Tensor& x) {
  RG_CHECK(x.defined() && x.dim() == 2 && is_floating(x.dtype()),
           "orthogonality_error: expected a 2-D f32 or f64 matrix, got ", x.defined() ? x.shape() : Shape{});
  const Tensor y = x.size(0) > x.size(1) ? raw::transpose(x, 0, 1) : x;
  const std::int64_t n = y.size(0);
  if (n == 0) return 0.0;
  const Tensor gram = raw::mm(y, raw::transpose(y, 0, 1));
  // Gram - I: the identity is built on the CPU and moved (n is small: min(rows, cols)).
  Tensor identity = zeros({n, n}, {gram.dtype(), Device::cpu()});
  for (std::int64_t i = 0; i < n; ++i) raw::fill_(raw::select(raw::select(identity, 0, i), 0, i), 1.0);
  raw::add_(gram, raw::to_device(identity, gram.device()), -1.0);
  const double frobenius = raw::to_device(raw::norm(gram, 2.0, {}, false), Device::cpu()).item<double>();
  return frobenius / std::sqrt(static_cast<double>(n));
}

}  // namespace recgrad
