#include "nn/activation.h"

namespace recgrad::nn {

Tensor ReLU::forward(const Tensor& x) const { return recgrad::relu(x); }
Tensor GELU::forward(const Tensor& x) const { return recgrad::gelu(x, approximation); }
Tensor SiLU::forward(const Tensor& x) const { return recgrad::silu(x); }
Tensor Sigmoid::forward(const Tensor& x) const { return recgrad::sigmoid(x); }
Tensor Tanh::forward(const Tensor& x) const { return recgrad::tanh(x); }

}  // namespace recgrad::nn
