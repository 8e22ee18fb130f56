#include "autograd/ops/activations.h"

#include "autograd/function.h"

namespace recgrad {

namespace {

// Records a one-input activation whose input gradient is the fused kernel
// `input_grad(g, saved)`; `saved` is the output (relu, sigmoid, tanh) or the
// input (silu, gelu), whichever the derivative is cheapest from.
template <typename InputGrad>
Tensor record_activation(const char* name, const Tensor& out, const Tensor& x, const Tensor& saved,
                         InputGrad input_grad) {
  if (!any_requires_grad({x})) return out;
  return record(name, out, {x}, [name, saved = SavedTensor(saved), input_grad](const Tensor& g) -> std::vector<Tensor> {
    return {input_grad(g, saved.unpack(name))};
  });
}

}  // namespace

Tensor relu(const Tensor& x) {
  const Tensor y = raw::relu(x);
  return record_activation("relu", y, x, y, [](const Tensor& g, const Tensor& y) { return raw::relu_backward(g, y); });
}

Tensor sigmoid(const Tensor& x) {
  const Tensor y = raw::sigmoid(x);
  return record_activation("sigmoid", y, x, y,
                           [](const Tensor& g, const Tensor& y) { return raw::sigmoid_backward(g, y); });
}

Tensor tanh(const Tensor& x) {
  const Tensor y = raw::tanh(x);
  return record_activation("tanh", y, x, y, [](const Tensor& g, const Tensor& y) { return raw::tanh_backward(g, y); });
}

Tensor silu(const Tensor& x) {
  return record_activation("silu", raw::silu(x), x, x,
                           [](const Tensor& g, const Tensor& x) { return raw::silu_backward(g, x); });
}

Tensor gelu(const Tensor& x, GeluApproximation approximation) {
  return record_activation(
      "gelu", raw::gelu(x, approximation), x, x,
      [approximation](const Tensor& g, const Tensor& x) { return raw::gelu_backward(g, x, approximation); });
}

}  // namespace recgrad
