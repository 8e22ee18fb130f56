// The gelu formula switch, shared by the raw op (core/ops/unary.h) and the kernels of both devices.
#pragma once

namespace recgrad {

/// Which formula gelu uses: the exact x * Phi(x) (None), or PyTorch's tanh
/// approximation 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (Tanh).
enum class GeluApproximation { None, Tanh };

}  // namespace recgrad
